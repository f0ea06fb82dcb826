#include "api/json_codec.h"

#include "core/alerts.h"

namespace cronkit::api {

void write_fields(JsonWriter& w, const Task& t) {
  w.key("id").value(t.id);
  w.key("name").value(t.name);
  w.key("cronExpression").value(t.cron_expression);
  w.key("timezone").value(t.timezone);
  w.key("type").value(to_string(t.type));
  w.key("functionName").value(t.function_name);
  w.key("functionPayload").value(t.function_payload);
  w.key("httpMethod").value(t.http_method);
  w.key("httpUrl").value(t.http_url);
  w.key("httpHeaders").value(t.http_headers);
  w.key("httpBody").value(t.http_body);
  w.key("command");
  if (t.command) {
    w.raw(*t.command);  // a JSON array, as the store keeps it
  } else {
    w.null();
  }
  w.key("workingDirectory").value(t.working_directory);
  w.key("environment");
  if (t.environment) {
    w.raw(*t.environment);  // a JSON object
  } else {
    w.null();
  }
  w.key("commandInput").value(t.command_input);
  w.key("catchUp").value(t.catches_up());
  w.key("catchUpPolicy").value(to_string(t.catch_up_policy));
  w.key("catchUpWindowSeconds").value(t.catch_up_window_seconds);
  w.key("enabled").value(t.enabled);
  w.key("maxRetries").value(t.max_retries);
  w.key("retryDelaySeconds").value(t.retry_delay_seconds);
  w.key("retryBackoff").value(to_string(t.retry_backoff));
  w.key("retryMaxDelaySeconds").value(t.retry_max_delay_seconds);
  w.key("startAt").value(t.start_at);
  w.key("endAt").value(t.end_at);
  w.key("jitterSeconds").value(t.jitter_seconds);
  w.key("maxRuns").value(t.max_runs ? std::optional<std::int64_t>{*t.max_runs} : std::nullopt);
  w.key("runCount").value(t.run_count);
  w.key("pauseAfterFailures")
      .value(t.pause_after_failures ? std::optional<std::int64_t>{*t.pause_after_failures}
                                    : std::nullopt);
  w.key("notifications");
  if (t.notifications.empty()) {
    w.begin_array().end_array();
  } else {
    w.raw(encode_rules(t.notifications));  // the API's fields, as the store keeps them
  }
  w.key("tags").begin_array();
  for (const auto& tag : t.tags)
    w.value(tag);
  w.end_array();
  w.key("timeoutSeconds").value(t.timeout_seconds);
  w.key("overlapPolicy").value(to_string(t.overlap_policy));
  w.key("createdAt").value(t.created_at);
  w.key("updatedAt").value(t.updated_at);
  w.key("pausedNote").value(t.paused_note);
  w.key("pausedAt").value(t.paused_at);
}

void write_fields(JsonWriter& w, const Execution& e) {
  w.key("id").value(e.id);
  w.key("taskId").value(e.task_id);
  w.key("status").value(to_string(e.status));
  w.key("trigger").value(to_string(e.trigger));
  w.key("scheduledFor").value(e.scheduled_for);
  w.key("queuedAt").value(e.queued_at);
  w.key("startedAt").value(e.started_at);
  w.key("finishedAt").value(e.finished_at);
  w.key("errorMessage").value(e.error_message);
  w.key("resultSummary").value(e.result_summary);
  w.key("output").value(e.output);
  w.key("attempts").value(e.attempts);
  w.key("durationMs").value(e.duration_ms);
  w.key("nodeId").value(e.node_id);
}

void write_fields(JsonWriter& w, const Stats& s) {
  w.key("totalTasks").value(s.total_tasks);
  w.key("enabledTasks").value(s.enabled_tasks);
  w.key("last24hExecutions").value(s.last24h_executions);
  w.key("last24hFailures").value(s.last24h_failures);
  w.key("running").value(s.running);
  w.key("queued").value(s.queued);
}

}  // namespace cronkit::api
