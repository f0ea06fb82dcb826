#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cronkit {

/// What a notification tells of: a test, or an event of a task.
enum class NotifyEvent { test, failure, recovery, slow, missed, paused };

std::string_view to_string(NotifyEvent e);
std::optional<NotifyEvent> parse_notify_event(std::string_view s);

/// One of a task's notification rules: which of its events go to a channel, and when.
struct NotifyRule {
  std::string channel_id;
  std::vector<NotifyEvent> on;  // in NotifyEvent order, without repeats, never `test`
  // failure: notified at the after_failures-th failed execution in a row, then not again
  // while the task keeps failing, unless realert_minutes passed since the last one.
  int after_failures = 1;
  std::optional<int> realert_minutes;
  // slow: a run still running slow_seconds after it started (required with `slow`).
  std::optional<int> slow_seconds;
  // missed: an instant whose execution did not start within this grace.
  int missed_grace_seconds = 60;

  bool notifies(NotifyEvent e) const;
  bool operator==(const NotifyRule&) const = default;
};

}  // namespace cronkit
