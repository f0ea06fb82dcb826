#include "api/json_codec.h"

namespace cronkit::api {
namespace {

namespace json = boost::json;

json::value optional(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::value optional(const std::optional<std::int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

json::object to_json(const Task& t) {
  return {{"id", t.id},
          {"name", t.name},
          {"cronExpression", t.cron_expression},
          {"timezone", t.timezone},
          {"type", to_string(t.type)},
          {"functionName", optional(t.function_name)},
          {"functionPayload", optional(t.function_payload)},
          {"httpMethod", optional(t.http_method)},
          {"httpUrl", optional(t.http_url)},
          {"httpHeaders", optional(t.http_headers)},
          {"httpBody", optional(t.http_body)},
          {"catchUp", t.catch_up},
          {"enabled", t.enabled},
          {"maxRetries", t.max_retries},
          {"retryDelaySeconds", t.retry_delay_seconds},
          {"timeoutSeconds", t.timeout_seconds},
          {"overlapPolicy", to_string(t.overlap_policy)},
          {"createdAt", t.created_at},
          {"updatedAt", t.updated_at}};
}

json::object to_json(const Execution& e) {
  return {{"id", e.id},
          {"taskId", e.task_id},
          {"status", to_string(e.status)},
          {"trigger", to_string(e.trigger)},
          {"scheduledFor", e.scheduled_for},
          {"queuedAt", e.queued_at},
          {"startedAt", optional(e.started_at)},
          {"finishedAt", optional(e.finished_at)},
          {"errorMessage", optional(e.error_message)},
          {"resultSummary", optional(e.result_summary)},
          {"output", optional(e.output)},
          {"attempts", e.attempts},
          {"durationMs", optional(e.duration_ms)},
          {"nodeId", optional(e.node_id)}};
}

json::object to_json(const Stats& s) {
  return {{"totalTasks", s.total_tasks},
          {"enabledTasks", s.enabled_tasks},
          {"last24hExecutions", s.last24h_executions},
          {"last24hFailures", s.last24h_failures},
          {"running", s.running},
          {"queued", s.queued}};
}

}  // namespace cronkit::api
