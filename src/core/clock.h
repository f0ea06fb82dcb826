#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/task.h"

namespace cronkit {

/// Wall-clock time, behind an interface so that tests can move it by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Milliseconds since the Unix epoch. Thread-safe.
  virtual Millis now() const = 0;
  /// Waits on `cv` (with `lock` held, as condition_variable::wait does) until `deadline`,
  /// a notification, or an earlier wake-up: callers re-check now() and their condition.
  virtual void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                          Millis deadline) const = 0;
};

/// The system's clock, optionally shifted by a fixed offset (to test servers whose clocks
/// disagree).
class SystemClock final : public Clock {
 public:
  explicit SystemClock(Millis offset_ms = 0) : offset_(offset_ms) {}
  Millis now() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + offset_;
  }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  Millis deadline) const override {
    // Never sleep long on the wall clock: if it is set forward or back, the caller sees the
    // new time within a second.
    using namespace std::chrono;
    Millis until = std::min(deadline, now() + 1000) - offset_;
    cv.wait_until(lock, system_clock::time_point{milliseconds{until}});
  }

 private:
  Millis offset_;
};

}  // namespace cronkit
