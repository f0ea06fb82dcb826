#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/clock.h"
#include "core/store.h"

namespace cronkit::engine {

/// Finds the instants of tasks with a `missed` rule whose execution did not start within the
/// rule's grace — whatever the reason: no server ran, the overlap policy skipped it, the
/// clock jumped — and has the store tell them (Store::check_missed: one delivery per rule
/// per check, with the count, each instant checked once across servers). Checks at start and
/// then every `interval_ms`, on its own thread.
///   MissedWatch watch{store, clock};  watch.start();  ...  watch.stop();
class MissedWatch {
 public:
  /// Instants counted per rule and check, at most (a task firing every second that nobody
  /// ran for days is told as "missed 100000 runs" from its first).
  static constexpr std::size_t kMaxCounted = 100000;

  MissedWatch(Store& store, const Clock& clock, Millis interval_ms = 10'000);
  ~MissedWatch();
  MissedWatch(const MissedWatch&) = delete;
  MissedWatch& operator=(const MissedWatch&) = delete;

  void start();
  void stop();
  /// One check at `now`; returns how many deliveries it queued. Throws StoreError.
  int check(Millis now);

 private:
  void loop();

  Store& store_;
  const Clock& clock_;
  const Millis interval_ms_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cronkit::engine
