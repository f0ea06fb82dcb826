#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/task.h"

namespace cronkit::app {

/// How executions ended, in the log: a line per execution at debug level, and at info one
/// summary line per interval (a minute by default) in which any ended — so that 1,000
/// executions a second write a line a minute, not 10 MB, and failures still show:
///   executions ended in the last 60 s: 3600 (3590 success, 8 failed, 2 timed out,
///   0 skipped); most failures: task 0190... (6, last: HTTP 503 Service Unavailable), ...
///   OutcomeLog log{std::chrono::seconds{60}};  log.start();  ...  log.ended(e);  log.stop();
/// ended() is thread-safe and quick (the engine calls it with its lock held).
class OutcomeLog {
 public:
  explicit OutcomeLog(std::chrono::milliseconds interval);
  ~OutcomeLog();
  OutcomeLog(const OutcomeLog&) = delete;
  OutcomeLog& operator=(const OutcomeLog&) = delete;

  void start();
  /// Logs the summary of what ended since the last one, and stops the thread.
  void stop();
  /// An execution reached a state: its line if it ended, and it counts in the summary.
  void ended(const Execution& e);

 private:
  struct Failures {
    std::int64_t count = 0;
    std::string last;
  };
  void run(std::stop_token stop);
  void summarize();

  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::chrono::steady_clock::time_point since_;  // the start of the current interval
  std::int64_t success_ = 0;
  std::int64_t failed_ = 0;
  std::int64_t timed_out_ = 0;
  std::int64_t skipped_ = 0;
  std::map<std::string, Failures> failures_;  // by task id; at most kMaxTasks
  std::jthread thread_;
};

}  // namespace cronkit::app
