#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/store.h"

namespace cronkit::engine {

/// Writes execution states to the store in batches: whatever was handed over while one
/// transaction ran goes into the next (group commit), so the store is not the bottleneck.
/// With several lanes (a store that takes concurrent writers, Store::writers()), each
/// execution's writes go to one lane by its id, and the lanes write side by side. The
/// writes of one execution keep their order, and so do their completion callbacks, which
/// run on a thread of their own, so that the writers spend their time writing.
///   Recorder r{store};  r.start();
///   r.write({ExecutionWrite::Kind::insert, e}, [](bool written) { ... });
class Recorder {
 public:
  /// Called on the recorder's notifier thread once the write is committed (or refused).
  using Done = std::function<void(bool written)>;

  explicit Recorder(Store& store, int lanes = 1);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Called on the notifier thread after each group of callbacks it ran (set before
  /// start()): what the callbacks collected can be acted on once for the group.
  void after_callbacks(std::function<void()> hook) { after_callbacks_ = std::move(hook); }

  void start();
  /// Writes everything handed over so far, runs its callbacks, then stops the threads.
  void stop();
  /// Queues a write. Thread-safe.
  void write(ExecutionWrite w, Done done = {});
  /// False while the store is failing (writes are kept and retried).
  bool healthy() const { return healthy_; }
  /// Why the last write failed, while the store is failing: the store's message.
  std::optional<std::string> failure() const;
  /// Waits until everything handed over before the call is written (or refused); false if
  /// that took longer than `timeout`.
  bool wait_written(std::chrono::milliseconds timeout);

 private:
  struct Item {
    ExecutionWrite write;
    Done done;
  };
  struct Completion {
    Done done;
    bool written;
  };
  // One writer thread with its queue.
  struct Lane {
    std::mutex mutex;
    std::condition_variable wake;
    std::vector<Item> queue;
    std::uint64_t handed_over = 0;  // writes queued so far
    std::uint64_t written = 0;      // of those, written or refused
    std::condition_variable written_cv;
    bool stopping = false;
    std::thread thread;
  };
  void run(Lane& lane);
  void notify_loop();

  Store& store_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<bool> healthy_{true};
  mutable std::mutex failure_mutex_;
  std::string failure_;

  std::mutex done_mutex_;
  std::condition_variable done_wake_;
  std::vector<Completion> completed_;
  bool done_stopping_ = false;
  std::function<void()> after_callbacks_;
  std::thread notifier_;
};

}  // namespace cronkit::engine
