// Feeds arbitrary bytes to the HTTP request path as the server reads them: Beast's parser
// with the server's limits, then each complete request (pipelined ones too) through the
// router, the handlers and JSON validation, on an in-memory store that holds two tasks and
// one execution when each input begins. Checks that nothing escapes as an exception (the
// server would answer 500), that no answer is a 5xx, and that every answer can be written
// back without a header line that could split the response.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string_view>

#include "api/api.h"
#include "api/http_server.h"
#include "engine/builtin.h"
#include "engine/engine.h"
#include "store/open_store.h"

namespace {

namespace http = boost::beast::http;
using namespace cronkit;

// Stops the fuzzer with the promise that failed.
#define CHECK(promise)                                                           \
  do {                                                                           \
    if (!(promise)) {                                                            \
      std::fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #promise); \
      std::abort();                                                              \
    }                                                                            \
  } while (false)

// Time stands still at 2026-03-08T06:59:59Z: nothing fires while an input is handled.
class StillClock final : public Clock {
 public:
  Millis now() const override { return 1772953199000; }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  Millis) const override {
    cv.wait_for(lock, std::chrono::milliseconds{1});
  }
};

// Ids the dictionary and the corpus use, so that inputs reach the per-task routes.
constexpr std::string_view kFunctionTask = "01900000-0000-7000-8000-000000000001";
constexpr std::string_view kHttpTask = "01900000-0000-7000-8000-000000000002";
constexpr std::string_view kExecution = "01900000-0000-7000-8000-000000000003";

// The server's parts, built once; restore() puts the database back between inputs.
struct World {
  StillClock clock;
  Registry registry;
  std::unique_ptr<Store> store;
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<api::Api> api;

  World() {
    store = std::move(*store::open_store("sqlite::memory:"));
    engine::add_builtin_functions(registry, *store, clock);
    // Not started: a manual run is stored as queued and goes no further, so that nothing
    // leaves the process whatever task an input creates.
    engine = std::make_unique<engine::Engine>(*store, clock, registry, engine::EngineOptions{});
    api = std::make_unique<api::Api>(*store, *engine, registry, clock, api::ApiOptions{});
    restore();
  }

  // Deletes every task (their executions go with them) and stores the two tasks and the
  // execution every input starts from.
  void restore() {
    auto all = store->list_tasks({.page_size = 1000});
    for (const auto& listed : all.list) {
      engine->unschedule(listed.task.id);
      CHECK(store->delete_task(listed.task.id));
    }
    const Task f{.id = std::string(kFunctionTask),
                 .name = "cleanup",
                 .cron_expression = "0 0 3 * * *",
                 .timezone = "Europe/Berlin",
                 .function_name = "cleanup-logs",
                 .function_payload = R"({"days":7})",
                 .created_at = clock.now(),
                 .updated_at = clock.now()};
    const Task h{.id = std::string(kHttpTask),
                 .name = "ping",
                 .cron_expression = "*/5 * * * *",
                 .type = TaskType::http,
                 .http_method = "POST",
                 .http_url = "http://127.0.0.1:9/hook",
                 .http_headers = R"({"Authorization":"Bearer secret"})",
                 .http_body = "{}",
                 .enabled = false,
                 .created_at = clock.now(),
                 .updated_at = clock.now()};
    CHECK(store->insert_task(f) && store->insert_task(h));
    ExecutionWrite w{.kind = ExecutionWrite::Kind::insert,
                     .execution = {.id = std::string(kExecution),
                                   .task_id = f.id,
                                   .status = ExecutionStatus::queued,
                                   .scheduled_for = clock.now(),
                                   .queued_at = clock.now()}};
    CHECK(store->write_executions({&w, 1}) == std::vector<bool>{true});
  }
};

void check_response(const api::Response& res) {
  CHECK(res.result_int() >= 200 && res.result_int() < 500);
  for (const auto& field : res) {
    for (char c : field.value())
      CHECK(c != '\r' && c != '\n' && c != '\0');
  }
  std::ostringstream out;
  api::Response copy = res;
  out << copy;
  CHECK(out.str().size() >= res.body().size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 16)) return 0;
  static World world;
  const api::HttpServerOptions limits;
  std::string_view rest{reinterpret_cast<const char*>(data), size};
  // Requests one after another on one connection, as the server reads them.
  for (int i = 0; i < 8 && !rest.empty(); ++i) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(limits.body_limit);
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.eager(true);
    boost::beast::error_code ec;
    std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (!ec && parser.is_header_done() && !parser.is_done()) {
      parser.put_eof(ec);  // the client closed the connection mid-body
    }
    if (ec || !parser.is_done()) break;  // the server answers 400/413/431 or waits
    rest.remove_prefix(used);
    api::Reply reply = world.api->handle(parser.get());
    if (reply.later) {
      // With the engine not started, a manual run is answered at once.
      std::optional<api::Response> later;
      reply.later([&](api::Response res) { later = std::move(res); });
      CHECK(later.has_value());
      check_response(*later);
    } else {
      check_response(reply.response);
    }
  }
  world.restore();
  return 0;
}
