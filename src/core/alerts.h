#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/channel.h"
#include "core/task.h"

namespace cronkit {

/// What a task's rule to one channel has counted: a row of notification_alerts.
struct AlertState {
  int failures = 0;                  // failed or timed-out executions in a row
  bool alerting = false;             // a failure was notified, and no success came since
  std::optional<Millis> alerted_at;  // the last failure notification
  bool operator==(const AlertState&) const = default;
};

/// What an execution that ended with `status` at `now` does to a rule's state, and the event
/// it notifies, if any: a failure at the rule's after_failures-th failure in a row (then
/// again only every realert_minutes while failing), a recovery at the first success after a
/// notified failure. A skipped execution changes nothing.
std::optional<NotifyEvent> after_execution(const NotifyRule& rule, AlertState& state,
                                           ExecutionStatus status, Millis now);

/// The rules as the store keeps them: a JSON array with the API's field names, or an empty
/// text for none.
std::string encode_rules(const std::vector<NotifyRule>& rules);
/// Throws std::invalid_argument for a text that encode_rules() did not write.
std::vector<NotifyRule> decode_rules(std::string_view text);

/// An event of a task, as it is told.
struct TaskEvent {
  NotifyEvent kind = NotifyEvent::failure;
  std::string task_id;
  std::string task_name;
  Millis at = 0;                       // when it was found
  std::optional<Execution> execution;  // failure, recovery, slow
  int failures = 0;                    // failure: how many in a row
  int slow_seconds = 0;                // slow: the run has been running this long
  int missed = 0;                      // missed: how many instants, the first and the last
  Millis first_missed = 0;
  Millis last_missed = 0;
  std::optional<std::string> note;  // paused: why
};

/// The event's facts as a JSON document: the webhook's body but for deliveryId and link.
std::string event_payload(const TaskEvent& e);
/// One line that names the task and what happened: "[cronkit] backup-db failed".
std::string event_summary(const TaskEvent& e);

/// The delivery that tells `e` to the channel of `rule`, due at once (e.at).
Delivery delivery_of(const NotifyRule& rule, const TaskEvent& e);

}  // namespace cronkit
