#include "api/task_spec.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>

#include "core/text.h"
#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace cronkit::api {
namespace {

namespace json = boost::json;

// clang-format off
constexpr std::array<std::string_view, 31> kFields = {
    "name", "cronExpression", "timezone", "type",
    "functionName", "functionPayload",
    "httpMethod", "httpUrl", "httpHeaders", "httpBody",
    "command", "workingDirectory", "environment", "commandInput",
    "catchUp", "enabled", "maxRetries", "retryDelaySeconds", "retryBackoff",
    "retryMaxDelaySeconds", "timeoutSeconds", "overlapPolicy", "startAt", "endAt",
    "jitterSeconds", "maxRuns", "pauseAfterFailures", "catchUpPolicy", "catchUpWindowSeconds",
    "notifications", "tags"};
constexpr std::array<std::string_view, 6> kRuleFields = {
    "channelId", "on", "afterFailures", "realertMinutes", "slowSeconds", "missedGraceSeconds"};
// clang-format on

constexpr std::array<std::string_view, 5> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};

// Reads the fields of one request body into a task, collecting every problem.
class Reader {
 public:
  Reader(const json::object& body, FieldErrors& errors, std::string prefix = {})
      : body_(body), errors_(errors), prefix_(std::move(prefix)) {}

  void fail(std::string field, std::string message) {
    errors_.push_back({prefix_ + field, std::move(message)});
  }

  // notifications: up to kMaxRules rules, each to another channel; null or [] clears them.
  // A list field: its items, or null when it is absent, refused, or null (which clears
  // `out`). It holds `items` ("strings"), at most `max` (counted as `unit`: "tags").
  template <typename T>
  const json::array* list(std::string_view field, std::string_view items, std::size_t max,
                          std::string_view unit, std::vector<T>& out) {
    auto* v = body_.if_contains(field);
    if (!v) return nullptr;
    if (v->is_null()) {
      out.clear();
      return nullptr;
    }
    auto* a = v->if_array();
    if (!a) {
      fail(std::string(field),
           "must be an array of " + std::string(items) + ", not " + std::string(json_kind(*v)));
    } else if (a->size() > max) {
      fail(std::string(field),
           "must have at most " + std::to_string(max) + " " + std::string(unit));
      a = nullptr;
    }
    return a;
  }

  void rules(std::vector<NotifyRule>& out, const TaskRules& allowed) {
    auto* a = list("notifications", "rules", kMaxRules, "rules", out);
    if (!a) return;
    std::vector<NotifyRule> rules;
    const std::size_t before = errors_.size();
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string at = "notifications[" + std::to_string(i) + "]";
      auto* o = (*a)[i].if_object();
      if (!o) {
        fail(at, "must be an object (channelId, on, ...), not " + std::string(json_kind((*a)[i])));
        continue;
      }
      Reader r{*o, errors_, prefix_ + at + "."};
      for (const auto& [key, value] : *o) {
        if (std::ranges::find(kRuleFields, std::string_view{key}) == kRuleFields.end()) {
          r.fail(std::string(key), "is not a field of a notification rule");
        }
      }
      NotifyRule rule;
      r.text("channelId", rule.channel_id);
      if (!o->contains("channelId")) {
        r.fail("channelId", "is required (the id of a notification channel)");
      } else if (rule.channel_id.empty()) {
        r.fail("channelId", "must not be empty");
      } else if (std::ranges::find(rules, rule.channel_id, &NotifyRule::channel_id) !=
                 rules.end()) {
        r.fail("channelId", "has a rule already (one rule per channel: list its events in on)");
      } else if (allowed.channel_exists && !allowed.channel_exists(rule.channel_id)) {
        r.fail("channelId", "names no notification channel");
      }
      r.events(rule.on);
      r.integer("afterFailures", rule.after_failures, 1, kMaxFailuresLimit);
      r.optional_integer("realertMinutes", rule.realert_minutes, 1, kMaxRealertMinutes);
      r.optional_integer("slowSeconds", rule.slow_seconds, 1, kMaxSeconds);
      r.integer("missedGraceSeconds", rule.missed_grace_seconds, 1, kMaxSeconds);
      if (rule.notifies(NotifyEvent::slow) && !rule.slow_seconds && !r.refused("slowSeconds")) {
        r.fail("slowSeconds", "is required when on has \"slow\" (how long a run may take)");
      }
      if (rule.notifies(NotifyEvent::recovery) && !rule.notifies(NotifyEvent::failure)) {
        r.fail("on", "\"recovery\" needs \"failure\": a recovery follows a notified failure");
      }
      rules.push_back(std::move(rule));
    }
    if (errors_.size() == before) out = std::move(rules);
  }

  // tags: up to kMaxTags distinct tags; null or [] clears them.
  void tags(std::vector<std::string>& out) {
    auto* a = list("tags", "strings", kMaxTags, "tags", out);
    if (!a) return;
    std::vector<std::string> tags;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string at = "tags[" + std::to_string(i) + "]";
      auto* s = (*a)[i].if_string();
      if (!s) {
        fail(at, "must be a string, not " + std::string(json_kind((*a)[i])));
        return;
      }
      std::string tag{s->data(), s->size()};
      if (!valid_tag(tag)) {
        fail(at, std::string(kTagRule));
        return;
      }
      if (std::ranges::find(tags, tag) != tags.end()) {
        fail(at, "repeats \"" + tag + "\"");
        return;
      }
      tags.push_back(std::move(tag));
    }
    out = std::move(tags);
  }

  // on: a non-empty array of the events a rule tells, without repeats.
  void events(std::vector<NotifyEvent>& out) {
    auto* v = body_.if_contains("on");
    auto* a = v ? v->if_array() : nullptr;
    constexpr std::string_view kWhich =
        "\"failure\", \"recovery\", \"slow\", \"missed\" or \"paused\"";
    if (!a || a->empty()) {
      fail("on", "must be a non-empty array of events: " + std::string(kWhich));
      return;
    }
    std::vector<NotifyEvent> events;
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto* s = (*a)[i].if_string();
      auto event = s ? parse_notify_event(std::string_view{*s}) : std::nullopt;
      const std::string at = "on[" + std::to_string(i) + "]";
      if (!event || *event == NotifyEvent::test) {
        fail(at, "must be " + std::string(kWhich));
      } else if (std::ranges::find(events, *event) != events.end()) {
        fail(at, "repeats \"" + std::string(to_string(*event)) + "\"");
      } else {
        events.push_back(*event);
      }
    }
    std::ranges::sort(events);
    out = std::move(events);
  }

  // Whether `field` was refused already.
  bool refused(std::string_view field) const {
    return std::ranges::any_of(
        errors_, [&](const FieldError& e) { return e.field == prefix_ + std::string(field); });
  }

  bool clean(std::string_view field, std::string_view text) {
    if (field == "name") {
      if (std::any_of(text.begin(), text.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        fail(std::string(field), "must not contain control characters");
        return false;
      }
    } else if (text.find('\0') != text.npos) {
      fail(std::string(field), "must not contain NUL characters");
      return false;
    }
    return true;
  }

  // A string field; null clears an optional one. No field may hold a NUL: C code (libcurl,
  // logs) would see the text cut short, not what was checked.
  void text(std::string_view field, std::string& out) {
    if (auto* v = body_.if_contains(field)) {
      if (auto* s = v->if_string()) {
        if (!clean(field, *s)) return;
        out.assign(s->data(), s->size());
      } else {
        fail(std::string(field), "must be a string, not " + std::string(json_kind(*v)));
      }
    }
  }
  void text(std::string_view field, std::optional<std::string>& out) {
    if (auto* v = body_.if_contains(field)) {
      if (v->is_null()) {
        out.reset();
      } else if (auto* s = v->if_string()) {
        if (!clean(field, *s)) return;
        out.emplace(s->data(), s->size());
      } else {
        fail(std::string(field), "must be a string or null, not " + std::string(json_kind(*v)));
      }
    }
  }
  // command: an array of 1 to 256 strings, stored as JSON text; null clears it.
  void argv(std::optional<std::string>& out) {
    auto* v = body_.if_contains("command");
    if (!v) return;
    if (v->is_null()) {
      out.reset();
      return;
    }
    auto* a = v->if_array();
    if (!a) {
      fail("command", "must be an array of strings (the program and its arguments), not " +
                          std::string(json_kind(*v)));
      return;
    }
    if (a->empty() || a->size() > kMaxCommandItems) {
      fail("command", "must have 1 to " + std::to_string(kMaxCommandItems) +
                          " items (the program and its arguments)");
      return;
    }
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto* s = (*a)[i].if_string();
      const std::string item = "command[" + std::to_string(i) + "]";
      if (!s) {
        fail(item, "must be a string, not " + std::string(json_kind((*a)[i])));
        return;
      }
      if (s->find('\0') != json::string::npos) {
        fail(item, "must not contain NUL characters");
        return;
      }
      if (i == 0 && s->empty()) {
        fail(item, "the program must not be empty");
        return;
      }
      bytes += s->size() + 1;
    }
    if (bytes > kMaxCommandBytes) {
      fail("command", "must be at most " + std::to_string(kMaxCommandBytes) + " bytes in all");
      return;
    }
    out = json::serialize(*a);
  }

  // environment: an object of variable names to strings, stored as JSON text.
  void variables(std::optional<std::string>& out) {
    auto* v = body_.if_contains("environment");
    if (!v) return;
    if (v->is_null()) {
      out.reset();
      return;
    }
    auto* o = v->if_object();
    if (!o) {
      fail("environment",
           "must be an object of variable names to strings, not " + std::string(json_kind(*v)));
      return;
    }
    if (o->size() > kMaxVariables) {
      fail("environment", "must have at most " + std::to_string(kMaxVariables) + " variables");
      return;
    }
    std::size_t bytes = 0;
    for (const auto& [name, value] : *o) {
      const std::string field = "environment." + std::string(name);
      const bool valid_name = !name.empty() && name.size() <= kMaxVariableNameChars &&
                              !std::isdigit(static_cast<unsigned char>(name[0])) &&
                              std::all_of(name.begin(), name.end(), [](char c) {
                                return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                              });
      if (!valid_name) {
        fail("environment", "has an invalid variable name \"" + std::string(name) +
                                "\" (letters, digits and _, not starting with a digit, at most " +
                                std::to_string(kMaxVariableNameChars) + ")");
        return;
      }
      if (std::string_view{name}.starts_with("CRONKIT_")) {
        fail(field, "is reserved: cronkit sets the CRONKIT_ variables itself");
        return;
      }
      auto* s = value.if_string();
      if (!s) {
        fail(field, "must be a string, not " + std::string(json_kind(value)));
        return;
      }
      if (s->find('\0') != json::string::npos) {
        fail(field, "must not contain NUL characters");
        return;
      }
      bytes += name.size() + s->size() + 2;
    }
    if (bytes > kMaxEnvironmentBytes) {
      fail("environment",
           "must be at most " + std::to_string(kMaxEnvironmentBytes) + " bytes in all");
      return;
    }
    out = json::serialize(*o);
  }

  // An instant in epoch ms, or null for none.
  void instant(std::string_view field, std::optional<std::int64_t>& out) {
    auto* v = body_.if_contains(field);
    if (!v) return;
    if (v->is_null()) {
      out.reset();
    } else if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= kMaxEpochMs) {
      out = v->get_int64();
    } else if (v->is_int64() || v->is_uint64() || v->is_double()) {
      fail(std::string(field), "must be a whole number of milliseconds since 1970 (0 to " +
                                   std::to_string(kMaxEpochMs) + "), or null");
    } else {
      fail(std::string(field),
           "must be a number (epoch milliseconds) or null, not " + std::string(json_kind(*v)));
    }
  }

  void flag(std::string_view field, bool& out) {
    if (auto* v = body_.if_contains(field)) {
      if (auto* b = v->if_bool()) {
        out = *b;
      } else if (v->is_int64() && (v->get_int64() == 0 || v->get_int64() == 1)) {
        out = v->get_int64() == 1;
      } else {
        fail(std::string(field), "must be true, false, 0 or 1");
      }
    }
  }
  // A whole number in [min, max], or null for none.
  void optional_integer(std::string_view field, std::optional<int>& out, int min, int max) {
    auto* v = body_.if_contains(field);
    if (!v) return;
    if (v->is_null()) {
      out.reset();
      return;
    }
    int n = 0;
    const std::size_t before = errors_.size();
    integer(field, n, min, max);
    if (errors_.size() == before) out = n;
  }
  void integer(std::string_view field, int& out, int min, int max) {
    if (auto* v = body_.if_contains(field)) {
      std::optional<std::int64_t> n;
      if (v->is_int64()) n = v->get_int64();
      if (v->is_uint64()) n = std::numeric_limits<std::int64_t>::max();  // out of range below
      if (v->is_double()) {
        const double d = v->get_double();
        if (d != std::trunc(d)) {
          fail(std::string(field), "must be a whole number");
          return;
        }
        // 3.0 is 3; 1e20 is out of range below.
        n = std::abs(d) < 1e15 ? static_cast<std::int64_t>(d)
            : d < 0            ? std::numeric_limits<std::int64_t>::min()
                               : std::numeric_limits<std::int64_t>::max();
      }
      if (!n) {
        fail(std::string(field), "must be a number, not " + std::string(json_kind(*v)));
      } else if (*n < min || *n > max) {
        fail(std::string(field),
             "must be between " + std::to_string(min) + " and " + std::to_string(max));
      } else {
        out = static_cast<int>(*n);
      }
    }
  }

 private:
  const json::object& body_;
  FieldErrors& errors_;
  std::string prefix_;  // "notifications[0]." for the fields of a rule
};

bool has_error(const FieldErrors& errors, std::string_view field) {
  for (const auto& e : errors) {
    if (e.field == field) return true;
  }
  return false;
}

// Every rule that concerns the task as a whole, after the fields were read.
void check(const Task& t, const Registry& registry, FieldErrors& errors) {
  auto fail = [&](std::string field, std::string message) {
    if (!has_error(errors, field)) errors.push_back({std::move(field), std::move(message)});
  };
  auto chars = utf8_length(t.name);
  if (t.name.find_first_not_of(" \t\r\n") == std::string::npos) {
    fail("name", "is required and must not be blank");
  } else if (chars > kMaxNameChars) {
    fail("name", "must be at most " + std::to_string(kMaxNameChars) + " characters");
  }
  if (t.cron_expression.empty()) {
    fail("cronExpression", "is required");
  } else if (utf8_length(t.cron_expression) > kMaxCronChars) {
    fail("cronExpression", "must be at most " + std::to_string(kMaxCronChars) + " characters");
  } else if (auto e = cron::CronExpr::parse(t.cron_expression); !e) {
    fail("cronExpression", e.error().describe());
  }
  if (auto z = cron::Zone::find(t.timezone); !z) fail("timezone", z.error());
  // Fields of either type are checked whenever they are given: the task keeps them.
  if (t.function_payload && t.function_payload->size() > kMaxTextBytes) {
    fail("functionPayload", "must be at most " + std::to_string(kMaxTextBytes) + " bytes");
  } else if (t.function_payload && !t.function_payload->empty()) {
    boost::system::error_code ec;
    json::parse(*t.function_payload, ec);
    if (ec) fail("functionPayload", "is not valid JSON: " + ec.message());
  }
  if (t.http_url && t.http_url->size() > kMaxUrlBytes) {
    fail("httpUrl", "must be at most " + std::to_string(kMaxUrlBytes) + " bytes");
  } else if (t.http_url && !t.http_url->empty()) {
    if (auto p = url_problem(*t.http_url)) fail("httpUrl", *p);
  }
  if (t.http_method &&
      std::find(kMethods.begin(), kMethods.end(), *t.http_method) == kMethods.end()) {
    fail("httpMethod", "must be one of GET, POST, PUT, PATCH, DELETE");
  }
  if (t.http_headers && t.http_headers->size() > kMaxHeadersBytes) {
    fail("httpHeaders", "must be at most " + std::to_string(kMaxHeadersBytes) + " bytes");
  } else if (t.http_headers && !t.http_headers->empty()) {
    if (auto p = headers_problem(*t.http_headers)) fail("httpHeaders", *p);
  }
  if (t.http_body && t.http_body->size() > kMaxTextBytes) {
    fail("httpBody", "must be at most " + std::to_string(kMaxTextBytes) + " bytes");
  }
  if (t.working_directory) {
    if (t.working_directory->empty() || t.working_directory->front() != '/') {
      fail("workingDirectory", "must be an absolute path");
    } else if (t.working_directory->size() > kMaxPathBytes) {
      fail("workingDirectory", "must be at most " + std::to_string(kMaxPathBytes) + " bytes");
    }
  }
  if (t.command_input && t.command_input->size() > kMaxInputBytes) {
    fail("commandInput", "must be at most " + std::to_string(kMaxInputBytes) + " bytes");
  }
  if (t.start_at && t.end_at && *t.end_at < *t.start_at) {
    fail("endAt", "must not be before startAt");
  }
  if (t.enabled && t.max_runs && t.run_count >= *t.max_runs) {
    fail("maxRuns", "the task made " + std::to_string(t.run_count) +
                        " runs already: raise maxRuns above that, clear it, or pause the task");
  }
  if (has_error(errors, "type")) return;  // what else is needed depends on the type
  if (t.type == TaskType::function) {
    if (!t.function_name || t.function_name->empty()) {
      fail("functionName", "is required for a function task");
    } else if (!registry.contains(*t.function_name)) {
      std::string names;
      for (const auto& n : registry.names())
        names += (names.empty() ? "" : ", ") + n;
      fail("functionName", "'" + *t.function_name + "' is not a registered function (registered: " +
                               (names.empty() ? "none" : names) + ")");
    }
  } else if (t.type == TaskType::http) {
    if (!t.http_url || t.http_url->empty()) fail("httpUrl", "is required for an http task");
  } else if (!t.command && std::none_of(errors.begin(), errors.end(), [](const FieldError& e) {
               return e.field.starts_with("command[");
             })) {
    fail("command", "is required for a command task (an array: the program and its arguments)");
  }
}

std::expected<Task, FieldErrors> read(const json::value& body, Task task, bool creating,
                                      const Registry& registry, TaskRules rules) {
  FieldErrors errors;
  auto* o = body.if_object();
  if (!o) return std::unexpected(FieldErrors{{"body", "must be a JSON object"}});
  for (const auto& [key, value] : *o) {
    if (std::find(kFields.begin(), kFields.end(), std::string_view{key}) == kFields.end()) {
      errors.push_back({std::string(key), "is not a field of a task"});
    }
  }
  Reader r{*o, errors};
  r.text("name", task.name);
  r.text("cronExpression", task.cron_expression);
  r.text("timezone", task.timezone);
  if (auto* v = o->if_contains("type")) {
    auto* s = v->if_string();
    auto type = s ? parse_task_type(std::string_view{*s}) : std::nullopt;
    if (type) {
      task.type = *type;
    } else {
      r.fail("type", "must be \"function\", \"http\" or \"command\"");
    }
  } else if (creating) {
    r.fail("type", "is required (\"function\", \"http\" or \"command\")");
  }
  r.text("functionName", task.function_name);
  r.text("functionPayload", task.function_payload);
  r.text("httpMethod", task.http_method);
  r.text("httpUrl", task.http_url);
  r.text("httpHeaders", task.http_headers);
  r.text("httpBody", task.http_body);
  r.argv(task.command);
  r.text("workingDirectory", task.working_directory);
  r.variables(task.environment);
  r.text("commandInput", task.command_input);
  // catchUp, the seed's flag, and catchUpPolicy: true is `latest` (or keeps `all`), false
  // is `none`; given both, they must agree.
  std::optional<bool> catch_up;
  if (o->contains("catchUp")) {
    bool flag = false;
    const std::size_t before = errors.size();
    r.flag("catchUp", flag);
    if (errors.size() == before) catch_up = flag;
  }
  if (auto* v = o->if_contains("catchUpPolicy")) {
    auto* s = v->if_string();
    auto policy = s ? parse_catch_up_policy(std::string_view{*s}) : std::nullopt;
    if (!policy) {
      r.fail("catchUpPolicy", "must be \"none\", \"latest\" or \"all\"");
    } else {
      task.catch_up_policy = *policy;
      if (catch_up && *catch_up != (*policy != CatchUpPolicy::none)) {
        r.fail("catchUp", "contradicts catchUpPolicy \"" + std::string(to_string(*policy)) +
                              "\" (catchUp is true for \"latest\" and \"all\")");
      }
    }
  } else if (catch_up) {
    if (!*catch_up) {
      task.catch_up_policy = CatchUpPolicy::none;
    } else if (task.catch_up_policy == CatchUpPolicy::none) {
      task.catch_up_policy = CatchUpPolicy::latest;
    }
  }
  r.integer("catchUpWindowSeconds", task.catch_up_window_seconds, 1, kMaxCatchUpWindowSeconds);
  r.flag("enabled", task.enabled);
  r.integer("maxRetries", task.max_retries, 0, kMaxRetries);
  r.integer("retryDelaySeconds", task.retry_delay_seconds, 1, kMaxSeconds);
  r.integer("timeoutSeconds", task.timeout_seconds, 1, kMaxSeconds);
  r.integer("retryMaxDelaySeconds", task.retry_max_delay_seconds, 1, kMaxSeconds);
  r.instant("startAt", task.start_at);
  r.instant("endAt", task.end_at);
  r.integer("jitterSeconds", task.jitter_seconds, 0, kMaxJitterSeconds);
  r.optional_integer("maxRuns", task.max_runs, 1, kMaxRunsLimit);
  r.optional_integer("pauseAfterFailures", task.pause_after_failures, 1, kMaxFailuresLimit);
  r.rules(task.notifications, rules);
  r.tags(task.tags);
  if (auto* v = o->if_contains("retryBackoff")) {
    auto* str = v->if_string();
    auto backoff = str ? parse_retry_backoff(std::string_view{*str}) : std::nullopt;
    if (backoff) {
      task.retry_backoff = *backoff;
    } else {
      r.fail("retryBackoff", "must be \"fixed\" or \"exponential\"");
    }
  }
  if (auto* v = o->if_contains("overlapPolicy")) {
    auto* s = v->if_string();
    auto policy = s ? parse_overlap_policy(std::string_view{*s}) : std::nullopt;
    if (policy) {
      task.overlap_policy = *policy;
    } else {
      r.fail("overlapPolicy",
             "must be \"allow\", \"skip\", \"replace\", \"buffer_one\" or \"buffer_all\"");
    }
  }
  check(task, registry, errors);
  if (rules.outbound && task.type == TaskType::http && task.http_url &&
      !has_error(errors, "httpUrl")) {
    if (auto p = outbound_problem(*task.http_url, *rules.outbound)) {
      errors.push_back({"httpUrl", *p});
    }
  }
  if (task.type == TaskType::command && !rules.commands_allowed && !has_error(errors, "type")) {
    errors.insert(errors.begin(), {"type", std::string(kCommandsOff)});
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return task;
}

}  // namespace

std::optional<std::string> url_problem(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u{curl_url(), curl_url_cleanup};
  if (!u) return "cannot be checked (out of memory)";
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return "is not a valid URL";
  }
  char* scheme = nullptr;
  curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
  std::string s = scheme ? scheme : "";
  curl_free(scheme);
  if (s != "http" && s != "https") {
    return "must be an http or https URL, not " +
           (s.empty() ? std::string("one without a scheme") : s + ":");
  }
  char* host = nullptr;
  curl_url_get(u.get(), CURLUPART_HOST, &host, 0);
  bool has_host = host && *host;
  curl_free(host);
  if (!has_host) return "has no host";
  return std::nullopt;
}

std::optional<std::string> outbound_problem(const std::string& url, const OutboundRules& rules) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u{curl_url(), curl_url_cleanup};
  char* host = nullptr;
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || !host) {
    return std::nullopt;
  }
  std::string h = host;
  curl_free(host);
  if (h.size() > 2 && h.front() == '[') h = h.substr(1, h.size() - 2);
  auto refusal = rules.check_host(h);
  if (!refusal) return std::nullopt;
  return "is refused: " + refusal->message;
}

namespace {
bool is_token_char(char c) {
  // RFC 9110 tchar
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

}  // namespace

std::optional<std::string> headers_problem(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return "is not valid JSON: " + ec.message();
  auto* o = v.if_object();
  if (!o) return "must be a JSON object of header names to strings";
  for (const auto& [name, value] : *o) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
      return "has an invalid header name \"" + std::string(name) + "\"";
    }
    auto* s = value.if_string();
    if (!s) return "header \"" + std::string(name) + "\" must be a string";
    for (char c : *s) {
      if (c == '\r' || c == '\n' || c == '\0') {
        return "header \"" + std::string(name) + "\" contains a line break or NUL";
      }
    }
  }
  return std::nullopt;
}

std::expected<Task, FieldErrors> task_from_create(const json::value& body, const Registry& registry,
                                                  TaskRules rules) {
  return read(body, Task{}, true, registry, rules);
}

std::expected<Task, FieldErrors> task_from_update(const json::value& body, Task current,
                                                  const Registry& registry, TaskRules rules) {
  return read(body, std::move(current), false, registry, rules);
}

std::string_view json_kind(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

}  // namespace cronkit::api
