// Feeds arbitrary JSON to the task validator, as a create request and as an update of an
// existing task, and checks what an accepted task promises: every field within its limits,
// a pattern the cron engine accepts, a known time zone and function, an http(s) URL, headers
// that are a JSON object of single-line strings; and that the task, written as the API
// writes it and read back, is the same task.
#include <curl/curl.h>

#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "api/json_codec.h"
#include "api/task_spec.h"
#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace {

using namespace cronkit;
namespace json = boost::json;

// Stops the fuzzer with the promise that failed.
#define CHECK(promise)                                                           \
  do {                                                                           \
    if (!(promise)) {                                                            \
      std::fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #promise); \
      std::abort();                                                              \
    }                                                                            \
  } while (false)

const Registry& registry() {
  static Registry r;
  static const bool filled = [] {
    r.add("cleanup-logs", [](const TaskContext&) { return TaskResult{}; });
    r.add("send-report", [](const TaskContext&) { return TaskResult{}; });
    return true;
  }();
  (void)filled;
  return r;
}

// What the HTTP runner will do with the URL: libcurl, limited to http and https, sees one of
// those schemes and a host.
bool requests_over_http(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u{curl_url(), curl_url_cleanup};
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
  char* scheme = nullptr;
  char* host = nullptr;
  curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u.get(), CURLUPART_HOST, &host, 0);
  const std::string s = scheme ? scheme : "";
  const bool ok = (s == "http" || s == "https") && host && *host;
  curl_free(scheme);
  curl_free(host);
  return ok;
}

void check_task(const Task& t) {
  CHECK(!t.name.empty() && t.name.size() <= 4 * api::kMaxNameChars);
  CHECK(cron::CronExpr::parse(t.cron_expression).has_value());
  CHECK(cron::Zone::find(t.timezone) != nullptr);
  CHECK(t.max_retries >= 0 && t.max_retries <= api::kMaxRetries);
  CHECK(t.retry_delay_seconds >= 1 && t.retry_delay_seconds <= api::kMaxSeconds);
  CHECK(t.timeout_seconds >= 1 && t.timeout_seconds <= api::kMaxSeconds);
  CHECK(t.jitter_seconds >= 0 && t.jitter_seconds <= api::kMaxJitterSeconds);
  CHECK(!t.max_runs || (*t.max_runs >= 1 && *t.max_runs <= api::kMaxRunsLimit));
  CHECK(!t.pause_after_failures ||
        (*t.pause_after_failures >= 1 && *t.pause_after_failures <= api::kMaxFailuresLimit));
  CHECK(t.catch_up_window_seconds >= 1 &&
        t.catch_up_window_seconds <= api::kMaxCatchUpWindowSeconds);
  CHECK(t.run_count == 0);  // never taken from a request
  if (t.type == TaskType::function) {
    CHECK(t.function_name && registry().contains(*t.function_name));
  } else if (t.type == TaskType::http) {
    CHECK(t.http_url && requests_over_http(*t.http_url));
    if (t.http_headers && !t.http_headers->empty()) {  // "" is no headers, as null is
      json::error_code ec;
      json::value headers = json::parse(*t.http_headers, ec);
      CHECK(!ec && headers.is_object());
      for (const auto& [name, value] : headers.as_object()) {
        CHECK(!name.empty() && value.is_string());
        for (char c : value.as_string())
          CHECK(c != '\r' && c != '\n');
      }
    }
  }
  if (t.command) {  // argv: 1 to 256 strings, the first not empty, no NUL
    json::value argv = json::parse(*t.command);
    CHECK(argv.is_array() && !argv.as_array().empty() && argv.as_array().size() <= 256);
    for (const auto& item : argv.as_array())
      CHECK(item.is_string() && item.as_string().find('\0') == json::string::npos);
    CHECK(!argv.as_array()[0].as_string().empty());
  }
  if (t.type == TaskType::command) CHECK(t.command.has_value());
  if (t.working_directory)
    CHECK(!t.working_directory->empty() && t.working_directory->front() == '/');
  if (t.environment) {
    json::value env = json::parse(*t.environment);
    CHECK(env.is_object());
    for (const auto& [name, value] : env.as_object())
      CHECK(!name.empty() && !std::string_view{name}.starts_with("CRONKIT_") && value.is_string());
  }
  if (t.function_payload && !t.function_payload->empty()) {  // "" is no payload
    json::error_code ec;
    json::parse(*t.function_payload, ec);
    CHECK(!ec);
  }
}

// Command tasks allowed, so that their fields are checked too.
const api::TaskRules kRules{.commands_allowed = true};

// The task as the API returns it, less what a create request may not set, read back.
void check_round_trip(const Task& t) {
  json::value written = json::parse(api::to_json_text(t));
  json::object& o = written.as_object();
  for (auto key :
       {"id", "createdAt", "updatedAt", "pausedNote", "pausedAt", "runCount"})  // read-only
    o.erase(key);
  auto again = api::task_from_create(written, registry(), kRules);
  CHECK(again.has_value());
  Task expected = t;
  expected.id.clear();
  expected.created_at = expected.updated_at = 0;
  expected.paused_note.reset();  // set by a toggle, not by a create
  expected.paused_at.reset();
  expected.run_count = 0;  // counted by claims
  again->id.clear();
  again->created_at = again->updated_at = 0;
  CHECK(*again == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 16)) return 0;
  json::parse_options options;
  options.max_depth = 32;  // as the API parses request bodies
  json::error_code ec;
  json::value body = json::parse({reinterpret_cast<const char*>(data), size}, ec, {}, options);
  if (ec) return 0;

  auto created = api::task_from_create(body, registry(), kRules);
  if (created) {
    check_task(*created);
    check_round_trip(*created);
  } else {
    CHECK(!created.error().empty());
    // Each names its field (empty only for a key that is itself empty) and the reason.
    for (const auto& e : created.error())
      CHECK(!e.message.empty() &&
            (!e.field.empty() || (body.is_object() && body.as_object().contains(""))));
  }

  static const Task current{.id = "t",
                            .name = "current",
                            .cron_expression = "*/5 * * * * *",
                            .timezone = "America/New_York",
                            .type = TaskType::http,
                            .http_method = "GET",
                            .http_url = "https://127.0.0.1/",
                            .http_headers = R"({"A":"b"})",
                            .max_retries = 2};
  auto updated = api::task_from_update(body, current, registry(), kRules);
  if (updated) {
    check_task(*updated);
    CHECK(updated->id == current.id);
  } else {
    CHECK(!updated.error().empty());
  }
  return 0;
}
