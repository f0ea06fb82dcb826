#include "core/notify_rule.h"

#include <algorithm>
#include <array>

namespace cronkit {
namespace {
constexpr std::array<std::string_view, 6> kEvents = {"test", "failure", "recovery",
                                                     "slow", "missed",  "paused"};
}  // namespace

std::string_view to_string(NotifyEvent e) {
  return kEvents[static_cast<std::size_t>(e)];
}

std::optional<NotifyEvent> parse_notify_event(std::string_view s) {
  for (std::size_t i = 0; i < kEvents.size(); ++i) {
    if (kEvents[i] == s) return static_cast<NotifyEvent>(i);
  }
  return std::nullopt;
}

bool NotifyRule::notifies(NotifyEvent e) const {
  return std::ranges::find(on, e) != on.end();
}

}  // namespace cronkit
