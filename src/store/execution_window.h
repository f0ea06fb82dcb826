#pragma once

#include <cstdint>
#include <vector>

#include "core/task.h"

namespace cronkit::store {

/// The executions queued in the last 24 hours, and how many of those failed, counted per
/// second in memory: the stats then cost the same after a day of history as after a year.
/// The window is the newest second and the 86,399 before it. The store feeds it every
/// execution it writes or deletes and rebuilds it from the database when the clock goes
/// back. Not thread-safe: the store serialises use.
class ExecutionWindow {
 public:
  static constexpr std::int64_t kSeconds = 86400;
  /// How far back a reader's clock may be from the newest second counted before the window
  /// must be rebuilt: a writer on another thread may have counted a slightly newer second.
  static constexpr std::int64_t kToleratedSkew = 2;

  struct Counts {
    std::int64_t executions = 0;
    std::int64_t failures = 0;  // failed or timed out
  };

  /// Empties the window and makes `newest_second` its newest second.
  void reset(std::int64_t newest_second);

  /// Counts executions (negative deltas uncount them) queued at `queued_at`: nothing when
  /// that is before the window, and the window moves forward when it is after.
  void add(Millis queued_at, std::int64_t executions, std::int64_t failures);

  /// Moves the window forward to `now`. Returns false when `now` is more than
  /// kToleratedSkew seconds before the newest second: the clock went back, and the window
  /// has to be rebuilt for `now`.
  bool advance(Millis now);

  Counts counts() const { return total_; }
  std::int64_t newest_second() const { return newest_; }
  /// The first millisecond inside the window.
  Millis start() const { return (newest_ - kSeconds + 1) * 1000; }

  static std::int64_t second_of(Millis t) { return t >= 0 ? t / 1000 : (t - 999) / 1000; }

 private:
  struct Bucket {
    std::int32_t executions = 0;
    std::int32_t failures = 0;
  };

  Bucket& bucket(std::int64_t second);
  void move_to(std::int64_t second);

  std::vector<Bucket> buckets_ = std::vector<Bucket>(kSeconds);
  std::int64_t newest_ = 0;
  Counts total_;
};

}  // namespace cronkit::store
