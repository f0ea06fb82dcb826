#include "store/execution_window.h"

#include <algorithm>

namespace cronkit::store {

ExecutionWindow::Bucket& ExecutionWindow::bucket(std::int64_t second) {
  return buckets_[static_cast<std::size_t>(((second % kSeconds) + kSeconds) % kSeconds)];
}

void ExecutionWindow::reset(std::int64_t newest_second) {
  std::fill(buckets_.begin(), buckets_.end(), Bucket{});
  total_ = {};
  newest_ = newest_second;
}

void ExecutionWindow::move_to(std::int64_t second) {
  if (second <= newest_) return;
  if (second - newest_ >= kSeconds) {
    reset(second);
    return;
  }
  // The seconds entering the window leave it first: their buckets held the day before.
  for (std::int64_t s = newest_ + 1; s <= second; ++s) {
    Bucket& b = bucket(s);
    total_.executions -= b.executions;
    total_.failures -= b.failures;
    b = {};
  }
  newest_ = second;
}

void ExecutionWindow::add(Millis queued_at, std::int64_t executions, std::int64_t failures) {
  const std::int64_t second = second_of(queued_at);
  move_to(second);
  if (second <= newest_ - kSeconds) return;
  Bucket& b = bucket(second);
  b.executions = static_cast<std::int32_t>(b.executions + executions);
  b.failures = static_cast<std::int32_t>(b.failures + failures);
  total_.executions += executions;
  total_.failures += failures;
}

bool ExecutionWindow::advance(Millis now) {
  const std::int64_t second = second_of(now);
  if (second < newest_ - kToleratedSkew) return false;
  move_to(second);
  return true;
}

}  // namespace cronkit::store
