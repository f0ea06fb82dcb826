// HttpServer's answers that come later, over real loopback connections.
#include "api/http_server.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

#include "engine/http_runner.h"

namespace cronkit::api {
namespace {

namespace http = boost::beast::http;

Response text(http::status status, std::string body) {
  Response res{status, 11};
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(HttpServerOptions{.port = 0},
                                           [this](const Request& req) { return handle(req); });
    server_->start();
    client_.start();
  }
  void TearDown() override {
    client_.stop();
    {
      std::lock_guard lock{mutex_};
      for (auto& respond : waiting_)
        respond(text(http::status::gone, "stopping"));
      waiting_.clear();
    }
    server_->stop();
  }

  // /now answers at once; /later is answered by release(); /never is not answered at all.
  Reply handle(const Request& req) {
    if (req.target() == "/now") return text(http::status::ok, "now");
    Reply reply = text(http::status::service_unavailable, "gave up");
    reply.later_timeout = std::chrono::milliseconds{req.target() == "/never" ? 200 : 60000};
    reply.later = [this, never = req.target() == "/never"](Respond respond) {
      std::lock_guard lock{mutex_};
      if (!never) waiting_.push_back(std::move(respond));
      cv_.notify_all();
      ++asked_;
    };
    return reply;
  }

  // Answers the request that waits, from a thread of ours.
  void release(std::string body) {
    std::unique_lock lock{mutex_};
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds{20}, [&] { return !waiting_.empty(); }));
    auto respond = std::move(waiting_.front());
    waiting_.erase(waiting_.begin());
    lock.unlock();
    std::thread{[respond, body] { respond(text(http::status::accepted, body)); }}.join();
  }

  std::future<engine::HttpResult> get(const std::string& path) {
    auto done = std::make_shared<std::promise<engine::HttpResult>>();
    engine::HttpRequest r;
    r.url = "http://127.0.0.1:" + std::to_string(server_->port()) + path;
    r.timeout_ms = 20000;
    client_.send(next_id_++, std::move(r),
                 [done](engine::HttpResult res) { done->set_value(std::move(res)); });
    return done->get_future();
  }

  std::unique_ptr<HttpServer> server_;
  engine::HttpRunner client_;
  std::uint64_t next_id_ = 1;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Respond> waiting_;
  int asked_ = 0;
};

TEST_F(HttpServerTest, ALaterAnswerIsSentWhenItComesAndOthersAreServedMeanwhile) {
  // More requests wait than the server has threads: none of its threads waits with them.
  std::vector<std::future<engine::HttpResult>> later;
  for (int i = 0; i < 4; ++i)
    later.push_back(get("/later"));
  {
    std::unique_lock lock{mutex_};
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds{20}, [&] { return asked_ == 4; }));
  }
  EXPECT_EQ(get("/now").get().output, "now");
  for (int i = 0; i < 4; ++i)
    release("it came");
  for (auto& f : later) {
    auto res = f.get();
    EXPECT_EQ(res.status, 202);
    EXPECT_EQ(res.output, "it came");
  }
}

TEST_F(HttpServerTest, ALaterAnswerThatNeverComesTimesOutWithTheFallback) {
  auto res = get("/never").get();
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.output, "gave up");
}

}  // namespace
}  // namespace cronkit::api
