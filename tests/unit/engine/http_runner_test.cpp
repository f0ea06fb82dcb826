// The HTTP runner against a real server on loopback.
#include "engine/http_runner.h"

#include <gtest/gtest.h>

#include <future>

#include "../../support/test_http_server.h"

namespace cronkit::engine {
namespace {

using cronkit::testing::TestHttpServer;

class HttpRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { runner_.start(); }
  void TearDown() override { runner_.stop(); }

  HttpResult run(HttpRequest req) {
    if (req.task_id.empty()) req.task_id = "task-1";
    if (req.execution_id.empty()) req.execution_id = "exec-1";
    std::promise<HttpResult> done;
    auto result = done.get_future();
    runner_.send(next_id_++, std::move(req),
                 [&done](HttpResult r) { done.set_value(std::move(r)); });
    EXPECT_EQ(result.wait_for(std::chrono::seconds{20}), std::future_status::ready);
    return result.get();
  }

  HttpRequest get(const std::string& path) {
    HttpRequest r;
    r.url = server_.url(path);
    r.timeout_ms = 5000;
    return r;
  }

  TestHttpServer server_;
  HttpRunner runner_;
  std::uint64_t next_id_ = 1;
};

TEST_F(HttpRunnerTest, SuccessSummaryAndOutput) {
  auto r = run(get("/status/200"));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.summary, "HTTP 200 OK");
  EXPECT_EQ(r.output, "status 200");
  auto created = run(get("/status/204"));
  EXPECT_TRUE(created.ok);
  EXPECT_EQ(created.summary, "HTTP 204 No Content");
}

TEST_F(HttpRunnerTest, NonSuccessStatusFails) {
  auto r = run(get("/status/503"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.summary, "HTTP 503 Service Unavailable");
  EXPECT_EQ(r.output, "status 503");
  EXPECT_EQ(run(get("/status/404")).summary, "HTTP 404 Not Found");
}

TEST_F(HttpRunnerTest, SendsMethodHeadersBodyAndIdentity) {
  HttpRequest req = get("/echo");
  req.method = "post";
  req.body = R"({"hello":"world"})";
  req.headers_json = R"({"Content-Type":"application/json","X-Custom":"yes",
                         "x-cronkit-task-id":"forged","X-Cronkit-Scheduled-For":"forged"})";
  req.task_id = "t-42";
  req.execution_id = "e-7";
  req.scheduled_for = 1772953200000;  // 2026-03-08T07:00:00Z
  auto r = run(req);
  ASSERT_TRUE(r.ok) << r.summary;
  auto got = server_.requests().back();
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.body, R"({"hello":"world"})");
  EXPECT_EQ(got.headers["content-type"], "application/json");
  EXPECT_EQ(got.headers["x-custom"], "yes");
  EXPECT_EQ(got.headers["x-cronkit-task-id"], "t-42") << "a task cannot override it";
  EXPECT_EQ(got.headers["x-cronkit-execution-id"], "e-7");
  EXPECT_EQ(got.headers["x-cronkit-scheduled-for"], "2026-03-08T07:00:00Z");
}

TEST_F(HttpRunnerTest, FollowsUpToFiveRedirects) {
  auto five = run(get("/redirect/4"));  // 5 redirects in all
  EXPECT_TRUE(five.ok);
  EXPECT_EQ(five.summary, "HTTP 200 OK");
  auto six = run(get("/redirect/5"));
  EXPECT_FALSE(six.ok);
  EXPECT_EQ(six.summary, "more than 5 redirects");
}

TEST_F(HttpRunnerTest, OnlyHttpAndHttpsEvenAfterARedirect) {
  for (const char* url : {"file:///etc/passwd", "gopher://127.0.0.1/", "ftp://127.0.0.1/",
                          "dict://127.0.0.1:11211/stat"}) {
    HttpRequest req;
    req.url = url;
    auto r = run(req);
    EXPECT_FALSE(r.ok) << url;
    EXPECT_EQ(r.summary, "only http and https URLs are allowed (also after a redirect)") << url;
  }
  auto r = run(get("/redirect-to?file:///etc/passwd"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.summary, "only http and https URLs are allowed (also after a redirect)");
}

TEST_F(HttpRunnerTest, RefusedConnection) {
  HttpRequest req;
  int port = 0;
  {
    TestHttpServer gone;  // a port that was just free, now closed
    port = gone.port();
  }
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto r = run(req);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.summary.find("Couldn't connect to server"), std::string::npos) << r.summary;
}

TEST_F(HttpRunnerTest, ResetConnection) {
  auto r = run(get("/reset"));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.summary.empty());
}

TEST_F(HttpRunnerTest, SlowAnswerWithinTheTimeout) {
  auto r = run(get("/slow/300"));
  EXPECT_TRUE(r.ok) << r.summary;
}

TEST_F(HttpRunnerTest, TimesOut) {
  HttpRequest req = get("/hang");
  req.timeout_ms = 300;
  auto r = run(req);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.timed_out);
}

TEST_F(HttpRunnerTest, KeepsOnlyTheFirstFourKilobytes) {
  auto r = run(get("/big"));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.output.size(), 4096u);
}

TEST_F(HttpRunnerTest, BinaryOutputIsKeptAsPrintableText) {
  // PostgreSQL's text type refuses NUL and malformed UTF-8, and JSON must be UTF-8.
  auto r = run(get("/binary"));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.output,
            "PNG\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "end\xEF\xBF\xBD");
}

TEST_F(HttpRunnerTest, ReadsRetryAfterOfA503Or429) {
  auto seconds = run(get("/retry-after/30"));
  EXPECT_FALSE(seconds.ok);
  EXPECT_EQ(seconds.retry_after_ms, 30000);
  auto date = run(get("/retry-after-date"));
  EXPECT_EQ(date.status, 429);
  ASSERT_TRUE(date.retry_after_ms);
  EXPECT_NEAR(static_cast<double>(*date.retry_after_ms), 3600000.0, 5000.0);
  EXPECT_FALSE(run(get("/status/503")).retry_after_ms) << "none sent";
  EXPECT_EQ(retry_after_ms("0"), 0);
  EXPECT_EQ(retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), 0) << "in the past";
  EXPECT_FALSE(retry_after_ms("soon"));
  EXPECT_FALSE(retry_after_ms("-5"));
}

TEST_F(HttpRunnerTest, RejectsBadHeaders) {
  HttpRequest req = get("/echo");
  req.headers_json = R"({"X-Bad":"a\r\nInjected: yes"})";
  EXPECT_EQ(run(req).summary, "httpHeaders has an invalid header 'X-Bad'");
  req.headers_json = R"({"X-Num": 5})";
  EXPECT_EQ(run(req).summary, "httpHeaders.X-Num is not a string");
  req.headers_json = "[1]";
  EXPECT_EQ(run(req).summary, "httpHeaders is not a JSON object");
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HttpRunnerTest, CancelledRequestsNeverCallBack) {
  std::atomic<int> calls{0};
  runner_.send(99, get("/hang"), [&](HttpResult) { ++calls; });
  for (int i = 0; i < 200 && server_.requests().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  runner_.cancel(99);
  for (int i = 0; i < 200 && runner_.in_flight() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  EXPECT_EQ(runner_.in_flight(), 0u);
  EXPECT_EQ(calls, 0);
}

TEST_F(HttpRunnerTest, ManyRequestsInFlightOnOneThread) {
  // The endpoint answers only once all of them are open at once: they must run side by
  // side, however slow this machine is.
  constexpr int kCount = 100;
  std::atomic<int> ok{0};
  std::atomic<int> done{0};
  for (int i = 0; i < kCount; ++i) {
    runner_.send(1000 + static_cast<std::uint64_t>(i), get("/together/100"), [&](HttpResult r) {
      ok += r.ok;
      ++done;
    });
  }
  const auto start = std::chrono::steady_clock::now();
  while (done < kCount && std::chrono::steady_clock::now() - start < std::chrono::seconds{90}) {
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  EXPECT_EQ(ok, kCount);
  EXPECT_EQ(server_.max_concurrent(), kCount);
}

}  // namespace
}  // namespace cronkit::engine
