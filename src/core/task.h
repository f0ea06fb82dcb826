#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/notify_rule.h"

namespace cronkit {

/// Milliseconds since the Unix epoch: how the store and the API speak of time.
using Millis = std::int64_t;

enum class TaskType { function, http, command };
// A firing that comes while the task runs: runs beside it (allow), is recorded skipped
// (skip), stops it (replace), or waits for it: at most one waiting (buffer_one) or up to 100
// in order (buffer_all), further ones recorded skipped.
enum class OverlapPolicy { allow, skip, replace, buffer_one, buffer_all };
enum class RetryBackoff { fixed, exponential };
// Instants missed while no server ran the task: none run, the latest one runs, or every one
// within the task's catch-up window (oldest first, through its overlap policy).
enum class CatchUpPolicy { none, latest, all };
enum class ExecutionStatus { queued, running, success, failed, timed_out, skipped };
enum class Trigger { schedule, manual, catch_up, backfill };

std::string_view to_string(TaskType t);
std::string_view to_string(OverlapPolicy p);
std::string_view to_string(RetryBackoff b);
std::string_view to_string(CatchUpPolicy p);
std::string_view to_string(ExecutionStatus s);
std::string_view to_string(Trigger t);  // "schedule", "manual", "catch-up", "backfill"

/// Each returns nullopt for a text that names no value.
std::optional<TaskType> parse_task_type(std::string_view s);
std::optional<OverlapPolicy> parse_overlap_policy(std::string_view s);
std::optional<RetryBackoff> parse_retry_backoff(std::string_view s);
std::optional<CatchUpPolicy> parse_catch_up_policy(std::string_view s);
std::optional<ExecutionStatus> parse_execution_status(std::string_view s);
std::optional<Trigger> parse_trigger(std::string_view s);

/// True for success, failed, timed_out and skipped: nothing more happens to it.
bool is_terminal(ExecutionStatus s);

/// A scheduled task as stored: the seed's scheduled_tasks row plus time zone and
/// overlap policy.
struct Task {
  std::string id;
  std::string name;
  std::string cron_expression;
  std::string timezone = "UTC";
  TaskType type = TaskType::function;
  std::optional<std::string> function_name;
  std::optional<std::string> function_payload;  // JSON text
  std::optional<std::string> http_method;
  std::optional<std::string> http_url;
  std::optional<std::string> http_headers;  // JSON object text
  std::optional<std::string> http_body;
  std::optional<std::string> command;  // JSON array of strings: the program and its arguments
  std::optional<std::string> working_directory;
  std::optional<std::string> environment;  // JSON object of strings
  std::optional<std::string> command_input;
  CatchUpPolicy catch_up_policy = CatchUpPolicy::none;
  int catch_up_window_seconds = 86400;  // how far back `all` reaches
  bool enabled = true;
  int max_retries = 0;
  int retry_delay_seconds = 60;
  // exponential: retry_delay_seconds x 2^(n-1) before attempt n+1, at most
  // retry_max_delay_seconds, shortened at random by up to 20%; the cap also bounds how long
  // an HTTP answer's Retry-After may hold a retry back.
  RetryBackoff retry_backoff = RetryBackoff::fixed;
  int retry_max_delay_seconds = 3600;
  // No firing before start_at or after end_at (epoch ms; unbounded when absent).
  std::optional<Millis> start_at;
  std::optional<Millis> end_at;
  // Each firing starts jitter_delay(id, instant, jitter_seconds) after its instant: a delay
  // in [0, jitter_seconds) that every server and every restart compute alike.
  int jitter_seconds = 0;
  // After max_runs scheduled firings (catch-ups count, manual runs do not) the task pauses
  // itself; run_count is how many it made (counted by the claims, never written back).
  std::optional<int> max_runs;
  std::int64_t run_count = 0;
  // After this many consecutive failed or timed-out executions (each after its retries,
  // counted since the task last changed), the task pauses itself.
  std::optional<int> pause_after_failures;
  // Where its failures, recoveries, slow runs, missed instants and self-pauses are told.
  std::vector<NotifyRule> notifications;
  // Labels for finding and scoping tasks (`team:payments`), in the order given, no repeats.
  std::vector<std::string> tags;
  int timeout_seconds = 300;
  OverlapPolicy overlap_policy = OverlapPolicy::allow;
  Millis created_at = 0;
  Millis updated_at = 0;
  // While paused: since when, and why (given when pausing, or written by cronkit).
  std::optional<std::string> paused_note;
  std::optional<Millis> paused_at;

  bool catches_up() const { return catch_up_policy != CatchUpPolicy::none; }
  bool operator==(const Task&) const = default;
};

/// Tags: up to kMaxTags per task, each 1 to kMaxTagChars of letters, digits and -_./:
inline constexpr std::size_t kMaxTags = 20;
inline constexpr std::size_t kMaxTagChars = 64;
bool valid_tag(std::string_view tag);
/// Whether `tags` holds every one of `wanted`.
bool has_tags(const std::vector<std::string>& tags, const std::vector<std::string>& wanted);
/// A task's tags as the stores keep them: a JSON array of strings.
std::string encode_tags(const std::vector<std::string>& tags);
/// Throws std::invalid_argument for a text that encode_tags() did not write.
std::vector<std::string> decode_tags(std::string_view text);

/// One firing of a task (or a manual run), from queued to a terminal state.
struct Execution {
  std::string id;  // new_id(queued_at): stores order executions by id, which is queue order
  std::string task_id;
  ExecutionStatus status = ExecutionStatus::queued;
  Trigger trigger = Trigger::schedule;
  Millis scheduled_for = 0;  // the cron instant; for a manual run, when it was asked for
  Millis queued_at = 0;      // when the row was first written
  std::optional<Millis> started_at;
  std::optional<Millis> finished_at;
  std::optional<std::string> error_message;
  std::optional<std::string> result_summary;
  std::optional<std::string> output;  // bounded: the first 4 KiB (a command's: and the last)
  int attempts = 0;
  std::optional<std::int64_t> duration_ms;
  std::optional<std::string> node_id;

  bool operator==(const Execution&) const = default;
};

/// Largest output kept with an execution.
inline constexpr std::size_t kMaxOutputBytes = 4096;

}  // namespace cronkit
