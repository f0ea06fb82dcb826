#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stop_token>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cronkit/registry.h"
#include "engine/runner.h"

namespace cronkit::engine {

/// Runs function tasks: the registry's C++ functions, on a pool of threads. A few per core
/// start as soon as work waits; beyond that, more start (doubling, up to `max_threads`)
/// only when every thread is busy and none has taken an item for 1 ms of real time — so
/// handlers that block (sleep, I/O) get threads within a few milliseconds, while bursts of
/// short handlers run on few threads instead of hundreds contending for the engine's lock.
/// A handler is asked to stop through its TaskContext::stop when its attempt is cancelled.
class FunctionPool final : public Runner {
 public:
  FunctionPool(const Registry& registry, std::size_t max_threads);
  ~FunctionPool() override;
  FunctionPool(const FunctionPool&) = delete;
  FunctionPool& operator=(const FunctionPool&) = delete;

  void start() override {}
  void stop() override;
  using Runner::submit;
  void submit(std::vector<Job> jobs) override;
  void cancel(std::uint64_t id) override;

  /// Threads started so far.
  std::size_t threads() const;

 private:
  using Item = Job;
  using Lock = std::unique_lock<std::mutex>;

  void work();
  // Starts more threads while every one is blocked in a handler and work waits.
  void watch();
  Outcome call(const Attempt& attempt, std::stop_token stop) const;

  const Registry& registry_;
  const std::size_t max_threads_;
  const std::size_t base_threads_;  // started as soon as work waits

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable watch_;
  std::deque<Item> queue_;
  std::unordered_map<std::uint64_t, std::stop_source> running_;  // by attempt id
  std::vector<std::thread> workers_;
  std::thread watcher_;
  std::size_t idle_ = 0;
  std::size_t in_handlers_ = 0;  // threads inside a handler now
  bool watcher_asleep_ = false;
  std::chrono::steady_clock::time_point progress_;  // when a thread last took an item
  bool stopping_ = false;
};

}  // namespace cronkit::engine
