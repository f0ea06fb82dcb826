#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/store.h"

namespace cronkit::engine {

class Engine;

/// Every change of a task, each done in one place and one order: check, store, schedule,
/// announce. The API's handlers call it; so does the engine when another server changed a
/// task (reload). Changes made here are applied one at a time, so the scheduler always
/// holds the definition the store holds. Thread-safe.
///   TaskService tasks{store, engine, clock, [](std::string_view event, const Task& t) {...}};
///   Task t = tasks.create(std::move(validated));
class TaskService {
 public:
  /// Told of each change ("task.created", "task.updated", "task.deleted") once it is stored
  /// and scheduled.
  using Announce = std::function<void(std::string_view event, const Task& task)>;
  /// Makes the new definition from the current one, checking it; throws to refuse.
  using Change = std::function<Task(const Task& current)>;
  /// Makes the audit entry of a change from the task as it was (null: created) and as it
  /// is (null: deleted). It is recorded in the transaction of the change. Empty: none is.
  using Audit = std::function<AuditEntry(const Task* before, const Task* after)>;

  TaskService(Store& store, Engine& engine, const Clock& clock, Announce announce = {});

  /// Stores a new task (its id and times are set here) and schedules it.
  Task create(Task task, const Audit& audit = {});
  /// Replaces task `id` by what `change` makes of it; nullopt if there is no such task.
  std::optional<Task> update(std::string_view id, const Change& change, const Audit& audit = {});
  /// A change the task's state does not allow, naming the field at fault.
  struct Refused : std::runtime_error {
    Refused(std::string f, const std::string& message)
        : std::runtime_error(message), field(std::move(f)) {}
    std::string field;
  };
  /// Pauses (with an optional note saying why) or resumes task `id`, which clears the note;
  /// nullopt if there is no such task. Throws Refused to resume a task that made all its
  /// maxRuns runs.
  std::optional<Task> set_enabled(std::string_view id, bool enabled,
                                  std::optional<std::string> note = {}, const Audit& audit = {});
  /// Deletes task `id` with its executions; the task as it was, or nullopt if none.
  std::optional<Task> remove(std::string_view id, const Audit& audit = {});

  /// Changes several tasks at once: `decide` makes the changes from the tasks as they are
  /// (those named one of `names`, and those carrying every tag of `scope` when it has any),
  /// and they are stored in one transaction (Store::change_tasks), then scheduled and
  /// announced. `decide` may throw to change nothing. Returns what was written.
  TaskChanges change_many(std::span<const std::string> names, std::span<const std::string> scope,
                          const Store::DecideChanges& decide);

  /// The engine's check of a task's limits (Engine::on_limits): a task the store paused at
  /// its last counted run (maxRuns) is unscheduled and announced; an enabled task whose
  /// newest `pauseAfterFailures` executions since it last changed all failed is paused
  /// with a note saying so. Throws StoreError.
  void check_limits(std::string_view id, const Audit& audit = {});

  /// Schedules task `id` as the store holds it now (unscheduled if it is gone or paused), or
  /// every task when `id` is empty: another server changed it. Throws StoreError.
  static void reload(Store& store, Engine& engine, const std::string& id);

 private:
  // Stores and schedules a changed task (`before` as it was), then announces it.
  // `self_paused`: cronkit paused it (Store::pause_task).
  Task apply(const Task& before, Task task, const Audit& audit, bool self_paused = false);

  Store& store_;
  Engine& engine_;
  const Clock& clock_;
  const Announce announce_;
  std::mutex changes_;
};

}  // namespace cronkit::engine
