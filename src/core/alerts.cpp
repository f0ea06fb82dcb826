#include "core/alerts.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>
#include <stdexcept>

#include "core/ids.h"

namespace cronkit {
namespace {

namespace json = boost::json;

bool failed(ExecutionStatus s) {
  return s == ExecutionStatus::failed || s == ExecutionStatus::timed_out;
}

json::value optional(const std::optional<Millis>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value optional(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

int integer(const json::object& o, std::string_view key, int fallback) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return fallback;
  if (!v->is_int64()) throw std::invalid_argument("notification rule: bad " + std::string(key));
  return static_cast<int>(v->as_int64());
}

std::optional<int> optional_integer(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  return integer(o, key, 0);
}

// "45 s", "5 min", "2 h", "90 min".
std::string duration_text(int seconds) {
  if (seconds >= 3600 && seconds % 3600 == 0) return std::to_string(seconds / 3600) + " h";
  if (seconds >= 60 && seconds % 60 == 0) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds) + " s";
}

}  // namespace

std::optional<NotifyEvent> after_execution(const NotifyRule& rule, AlertState& state,
                                           ExecutionStatus status, Millis now) {
  if (status == ExecutionStatus::success) {
    state.failures = 0;
    if (!state.alerting) return std::nullopt;
    state.alerting = false;
    return rule.notifies(NotifyEvent::recovery) ? std::optional{NotifyEvent::recovery}
                                                : std::nullopt;
  }
  if (!failed(status)) return std::nullopt;
  if (state.failures < std::numeric_limits<int>::max()) ++state.failures;
  if (!rule.notifies(NotifyEvent::failure) || state.failures < rule.after_failures) {
    return std::nullopt;
  }
  const bool realert = state.alerting && rule.realert_minutes && state.alerted_at &&
                       now - *state.alerted_at >= Millis{*rule.realert_minutes} * 60'000;
  if (state.alerting && !realert) return std::nullopt;
  state.alerting = true;
  state.alerted_at = now;
  return NotifyEvent::failure;
}

std::string encode_rules(const std::vector<NotifyRule>& rules) {
  if (rules.empty()) return {};
  json::array out;
  for (const auto& r : rules) {
    json::array on;
    for (NotifyEvent e : r.on)
      on.emplace_back(to_string(e));
    json::object o{{"channelId", r.channel_id},
                   {"on", std::move(on)},
                   {"afterFailures", r.after_failures},
                   {"realertMinutes", nullptr},
                   {"slowSeconds", nullptr},
                   {"missedGraceSeconds", r.missed_grace_seconds}};
    if (r.realert_minutes) o["realertMinutes"] = *r.realert_minutes;
    if (r.slow_seconds) o["slowSeconds"] = *r.slow_seconds;
    out.push_back(std::move(o));
  }
  return json::serialize(out);
}

std::vector<NotifyRule> decode_rules(std::string_view text) {
  std::vector<NotifyRule> rules;
  if (text.empty()) return rules;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_array()) throw std::invalid_argument("notification rules: not a JSON array");
  for (const auto& item : v.as_array()) {
    auto* o = item.if_object();
    auto* channel = o ? o->if_contains("channelId") : nullptr;
    auto* on = o ? o->if_contains("on") : nullptr;
    if (!channel || !channel->is_string() || !on || !on->is_array()) {
      throw std::invalid_argument("notification rules: a rule without channelId or on");
    }
    NotifyRule r;
    r.channel_id = std::string(channel->as_string());
    for (const auto& e : on->as_array()) {
      auto event =
          e.is_string() ? parse_notify_event(std::string_view{e.as_string()}) : std::nullopt;
      if (!event) throw std::invalid_argument("notification rules: an unknown event");
      r.on.push_back(*event);
    }
    r.after_failures = integer(*o, "afterFailures", 1);
    r.realert_minutes = optional_integer(*o, "realertMinutes");
    r.slow_seconds = optional_integer(*o, "slowSeconds");
    r.missed_grace_seconds = integer(*o, "missedGraceSeconds", 60);
    rules.push_back(std::move(r));
  }
  return rules;
}

std::string event_payload(const TaskEvent& e) {
  json::object o{{"kind", to_string(e.kind)},
                 {"task", json::object{{"id", e.task_id}, {"name", e.task_name}}},
                 {"at", e.at}};
  if (e.execution) {
    const Execution& x = *e.execution;
    o["execution"] = json::object{{"id", x.id},
                                  {"status", to_string(x.status)},
                                  {"trigger", to_string(x.trigger)},
                                  {"scheduledFor", x.scheduled_for},
                                  {"startedAt", optional(x.started_at)},
                                  {"finishedAt", optional(x.finished_at)},
                                  {"durationMs", optional(x.duration_ms)},
                                  {"attempts", x.attempts},
                                  {"errorMessage", optional(x.error_message)}};
  }
  if (e.kind == NotifyEvent::failure) o["consecutiveFailures"] = e.failures;
  if (e.kind == NotifyEvent::missed) {
    o["missed"] =
        json::object{{"count", e.missed}, {"first", e.first_missed}, {"last", e.last_missed}};
  }
  if (e.kind == NotifyEvent::paused) o["note"] = optional(e.note);
  if (e.kind == NotifyEvent::slow) o["slowSeconds"] = e.slow_seconds;
  return json::serialize(o);
}

Delivery delivery_of(const NotifyRule& rule, const TaskEvent& e) {
  TaskEvent told = e;
  if (told.execution) told.execution->output.reset();  // what happened, never the output
  return {.id = new_id(e.at),
          .channel_id = rule.channel_id,
          .task_id = e.task_id,
          .execution_id = e.execution ? std::optional<std::string>{e.execution->id} : std::nullopt,
          .event = e.kind,
          .summary = event_summary(told),
          .created_at = e.at,
          .payload = event_payload(told),
          .next_attempt_at = e.at};
}

std::string event_summary(const TaskEvent& e) {
  std::string s = "[cronkit] " + e.task_name;
  switch (e.kind) {
    case NotifyEvent::failure:
      s += e.execution && e.execution->status == ExecutionStatus::timed_out ? " timed out"
                                                                            : " failed";
      if (e.failures > 1) s += " (" + std::to_string(e.failures) + " times in a row)";
      break;
    case NotifyEvent::recovery:
      s += " recovered";
      break;
    case NotifyEvent::slow:
      s += " is still running after " + duration_text(e.slow_seconds);
      break;
    case NotifyEvent::missed:
      s += e.missed == 1 ? " missed a run" : " missed " + std::to_string(e.missed) + " runs";
      break;
    case NotifyEvent::paused:
      s += " paused itself";
      break;
    case NotifyEvent::test:
      s += ": test";
      break;
  }
  return s;
}

}  // namespace cronkit
