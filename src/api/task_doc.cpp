#include "api/task_doc.h"

#include <boost/json/parse.hpp>

#include "core/alerts.h"

namespace cronkit::api {
namespace {

namespace json = boost::json;

json::value text_or_null(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// A JSON text the store keeps (command, environment), as the value it holds.
json::value parsed_or_null(const std::optional<std::string>& s) {
  return s ? json::parse(*s) : json::value(nullptr);
}

template <typename T>
json::value number_or_null(const std::optional<T>& n) {
  return n ? json::value(*n) : json::value(nullptr);
}

}  // namespace

json::object task_document(const Task& t) {
  json::object o;
  o["name"] = t.name;
  o["type"] = to_string(t.type);
  o["cronExpression"] = t.cron_expression;
  o["timezone"] = t.timezone;
  o["enabled"] = t.enabled;
  json::array tags;
  for (const auto& tag : t.tags)
    tags.emplace_back(tag);
  o["tags"] = std::move(tags);
  o["functionName"] = text_or_null(t.function_name);
  o["functionPayload"] = text_or_null(t.function_payload);
  o["httpMethod"] = text_or_null(t.http_method);
  o["httpUrl"] = text_or_null(t.http_url);
  o["httpHeaders"] = text_or_null(t.http_headers);
  o["httpBody"] = text_or_null(t.http_body);
  o["command"] = parsed_or_null(t.command);
  o["workingDirectory"] = text_or_null(t.working_directory);
  o["environment"] = parsed_or_null(t.environment);
  o["commandInput"] = text_or_null(t.command_input);
  o["timeoutSeconds"] = t.timeout_seconds;
  o["maxRetries"] = t.max_retries;
  o["retryDelaySeconds"] = t.retry_delay_seconds;
  o["retryBackoff"] = to_string(t.retry_backoff);
  o["retryMaxDelaySeconds"] = t.retry_max_delay_seconds;
  o["overlapPolicy"] = to_string(t.overlap_policy);
  o["catchUpPolicy"] = to_string(t.catch_up_policy);
  o["catchUpWindowSeconds"] = t.catch_up_window_seconds;
  o["startAt"] = number_or_null(t.start_at);
  o["endAt"] = number_or_null(t.end_at);
  o["jitterSeconds"] = t.jitter_seconds;
  o["maxRuns"] = number_or_null(t.max_runs);
  o["pauseAfterFailures"] = number_or_null(t.pause_after_failures);
  o["notifications"] = t.notifications.empty() ? json::value(json::array{})
                                               : json::parse(encode_rules(t.notifications));
  return o;
}

json::object exported_document(const Task& t, const ChannelName& channel_name) {
  static const json::object defaults = task_document(Task{});
  json::object out;
  for (auto& [key, value] : task_document(t)) {
    const bool always =
        key == "name" || key == "type" || key == "cronExpression" || key == "timezone";
    if (!always && defaults.at(key) == value) continue;
    if (key == "notifications") {
      json::array rules;
      for (auto& rule : value.as_array()) {
        json::object written;
        for (auto& [field, v] : rule.as_object()) {
          if (v.is_null()) continue;
          auto name =
              field == "channelId" ? channel_name(std::string(v.as_string())) : std::nullopt;
          if (name) {
            written["channel"] = *name;
          } else {
            written[field] = v;
          }
        }
        rules.push_back(std::move(written));
      }
      out[key] = std::move(rules);
    } else {
      out[key] = value;
    }
  }
  return out;
}

}  // namespace cronkit::api
