#pragma once

#include <atomic>
#include <chrono>

#include "core/clock.h"

namespace cronkit::testing {

/// A clock that moves only when told to. Waiters poll every millisecond of real time,
/// so a test that advances it sees the engine react without any lost wake-up.
///   FakeClock clock{at("2026-03-08T06:59:59Z")};
///   clock.advance(1000);
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Millis start) : now_(start) {}
  Millis now() const override { return now_.load(); }
  void wait_until(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  Millis deadline) const override {
    if (now() < deadline) cv.wait_for(lock, std::chrono::milliseconds{1});
  }
  void advance(Millis ms) { now_ += ms; }
  void set(Millis t) { now_ = t; }

 private:
  std::atomic<Millis> now_;
};

}  // namespace cronkit::testing
