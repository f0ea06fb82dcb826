#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace cronkit {

/// What a function task's handler is told about the run it is doing.
struct TaskContext {
  const boost::json::value& payload;  // the task's payload; null when it has none
  std::string_view task_id;
  std::string_view task_name;
  std::string_view execution_id;
  int attempt = 1;  // 1 for the first try, 2 for the first retry...
  /// The cron instant this run is for (for a manual run, when it was asked for): the same
  /// on every attempt, so a handler can use it to de-duplicate.
  std::chrono::system_clock::time_point scheduled_for;
  std::chrono::system_clock::time_point deadline;
  /// Requested at the deadline, when a newer run replaces this one, and at shutdown. A
  /// handler that ignores it is recorded as timed out at its deadline all the same.
  std::stop_token stop;
};

/// success = false (or a thrown exception, whose text becomes the message) fails the
/// attempt.
struct TaskResult {
  bool success = true;
  std::string message;
};

using TaskFunction = std::function<TaskResult(const TaskContext&)>;

/// Named C++ functions that "function" tasks run.
///   cronkit::Registry r;
///   r.add("say-hello", [](const cronkit::TaskContext& c) { return cronkit::TaskResult{true, "hi"};
///   });
/// Thread-safe.
class Registry {
 public:
  /// Adds `fn` under `name`, replacing any function of that name. Throws
  /// std::invalid_argument if the name is empty or fn is empty.
  void add(std::string name, TaskFunction fn);
  /// The function named `name`, or an empty function.
  TaskFunction find(std::string_view name) const;
  bool contains(std::string_view name) const;
  /// Every name, sorted.
  std::vector<std::string> names() const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, TaskFunction, std::less<>> functions_;
};

}  // namespace cronkit
