#pragma once

#include <chrono>

#include "core/task.h"

namespace cronkit {

/// Wall-clock time, behind an interface so that tests can move it by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  /// Milliseconds since the Unix epoch. Thread-safe.
  virtual Millis now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Millis now() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

}  // namespace cronkit
