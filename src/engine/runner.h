#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/task.h"

namespace cronkit::engine {

/// One attempt of an execution, as a runner sees it.
struct Attempt {
  std::uint64_t id = 0;              // unique in the process; names the attempt for cancel()
  std::shared_ptr<const Task> task;  // the definition the execution runs with (never null)
  std::string execution_id;
  int number = 1;  // 1 for the first attempt
  Millis scheduled_for = 0;
  Millis deadline = 0;  // when the engine records a timeout
};

/// How an attempt ended.
struct Outcome {
  bool ok = false;
  bool retryable = true;   // false when trying again cannot help (no such function)
  bool timed_out = false;  // the runner gave up at the deadline
  std::string message;
  std::optional<std::string> output;
  // How long the other side asked to be left alone (an HTTP answer's Retry-After): the
  // next attempt waits at least this long, up to the task's retry_max_delay_seconds.
  std::optional<Millis> retry_after;
};

/// Runs attempts of one task type: function tasks on a pool of threads, HTTP tasks on one
/// thread through libcurl, and so on. The engine decides what runs when; a runner only
/// runs and reports. Thread-safe.
class Runner {
 public:
  using Done = std::function<void(Outcome)>;
  virtual ~Runner() = default;

  /// An attempt and what to call when it ends.
  struct Job {
    Attempt attempt;
    Done done;
  };

  virtual void start() = 0;
  /// Stops its threads; attempts still waiting or in flight are dropped without a report
  /// (the engine has recorded them already).
  virtual void stop() = 0;
  /// Runs the attempts; each job's `done` is called once, on a thread of the runner, when
  /// its attempt ends (unless it was cancelled or the runner stopped first). A burst handed
  /// over at once costs one hand-off, not one per attempt.
  virtual void submit(std::vector<Job> jobs) = 0;
  void submit(Attempt attempt, Done done) {
    std::vector<Job> jobs;
    jobs.push_back({std::move(attempt), std::move(done)});
    submit(std::move(jobs));
  }
  /// Asks attempt `id` to stop: dropped if it has not started; otherwise told to stop (a
  /// function through its stop token, a transfer aborted). A report may still come.
  virtual void cancel(std::uint64_t id) = 0;
};

}  // namespace cronkit::engine
