#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "core/channel.h"
#include "core/task.h"
#include "engine/engine.h"

namespace cronkit::api {

/// Counts what the engine reports and renders it in Prometheus' text format. Thread-safe
/// and lock-free: observe() runs inside the engine's lock.
///   Metrics m;  options.on_change = [&](const Execution& e) { m.observe(e); };
///   std::string text = m.render(engine.counters());
class Metrics {
 public:
  /// One state change of an execution (EngineOptions::on_change).
  void observe(const Execution& e);
  /// A notification delivery finished: to a channel of `type`, delivered or not,
  /// `seconds` after it was made.
  void observe_delivery(ChannelType type, bool delivered, double seconds);
  std::string render(const engine::EngineCounters& counters) const;

 private:
  // Upper bounds in seconds; the last bucket (+Inf) is implied.
  static constexpr std::array<double, 14> kBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                     0.5,   1,     2.5,  5,     10,   60,  300};
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> sum_us{0};
    std::atomic<std::uint64_t> count{0};
    void observe(double seconds);
    void render(std::string& out, const char* name) const;
  };

  std::array<std::atomic<std::uint64_t>, 6> finished_{};  // by ExecutionStatus
  std::atomic<std::uint64_t> queued_{0};
  Histogram duration_;
  Histogram lag_;
  // By ChannelType, then delivered (1) or failed (0).
  std::array<std::array<std::atomic<std::uint64_t>, 2>, 3> deliveries_{};
  Histogram delivery_lag_;
};

}  // namespace cronkit::api
