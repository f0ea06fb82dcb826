#include "engine/task_service.h"

#include <algorithm>
#include <unordered_set>

#include "core/ids.h"
#include "engine/engine.h"

namespace cronkit::engine {

TaskService::TaskService(Store& store, Engine& engine, const Clock& clock, Announce announce)
    : store_(store), engine_(engine), clock_(clock), announce_(std::move(announce)) {}

namespace {

std::optional<AuditEntry> entry_of(const TaskService::Audit& audit, const Task* before,
                                   const Task* after) {
  if (!audit) return std::nullopt;
  return audit(before, after);
}

}  // namespace

Task TaskService::create(Task task, const Audit& audit) {
  std::lock_guard lock{changes_};
  const Millis now = clock_.now();
  task.id = new_id(now);
  task.created_at = task.updated_at = now;
  task.paused_note.reset();
  task.paused_at = task.enabled ? std::nullopt : std::optional<Millis>{now};
  const auto entry = entry_of(audit, nullptr, &task);
  store_.insert_task(task, entry ? &*entry : nullptr);
  engine_.schedule(task);
  if (announce_) announce_("task.created", task);
  return task;
}

std::optional<Task> TaskService::update(std::string_view id, const Change& change,
                                        const Audit& audit) {
  std::lock_guard lock{changes_};
  auto current = store_.get_task(id);
  if (!current) return std::nullopt;
  Task changed = change(*current);
  if (changed.enabled != current->enabled) {
    changed.paused_note.reset();  // a pause through an update gives no reason
    changed.paused_at = changed.enabled ? std::nullopt : std::optional<Millis>{clock_.now()};
  }
  return apply(*current, std::move(changed), audit);
}

std::optional<Task> TaskService::set_enabled(std::string_view id, bool enabled,
                                             std::optional<std::string> note, const Audit& audit) {
  std::lock_guard lock{changes_};
  auto task = store_.get_task(id);
  if (!task) return std::nullopt;
  const Task before = *task;
  if (enabled && !task->enabled && task->max_runs && task->run_count >= *task->max_runs) {
    throw Refused("enabled", "the task made all " + std::to_string(*task->max_runs) +
                                 " of its maxRuns runs: raise or clear maxRuns to resume it");
  }
  if (enabled) {
    task->paused_note.reset();
    task->paused_at.reset();
  } else {
    // Paused again: a new note replaces the old one; the pause keeps its start.
    if (task->enabled || !task->paused_at) task->paused_at = clock_.now();
    if (note) task->paused_note = std::move(note);
  }
  task->enabled = enabled;
  return apply(before, std::move(*task), audit);
}

Task TaskService::apply(const Task& before, Task task, const Audit& audit, bool self_paused) {
  task.updated_at = clock_.now();
  const auto entry = entry_of(audit, &before, &task);
  if (self_paused) {
    store_.pause_task(task, entry ? &*entry : nullptr);  // with its `paused` notifications
  } else {
    store_.update_task(task, entry ? &*entry : nullptr);
  }
  engine_.schedule(task);
  if (announce_) announce_("task.updated", task);
  return task;
}

std::optional<Task> TaskService::remove(std::string_view id, const Audit& audit) {
  std::lock_guard lock{changes_};
  auto task = store_.get_task(id);
  if (!task) return std::nullopt;
  const auto entry = entry_of(audit, &*task, nullptr);
  if (!store_.delete_task(id, entry ? &*entry : nullptr)) return std::nullopt;
  engine_.unschedule(id);
  if (announce_) announce_("task.deleted", *task);
  return task;
}

TaskChanges TaskService::change_many(std::span<const std::string> names,
                                     std::span<const std::string> scope,
                                     const Store::DecideChanges& decide) {
  std::lock_guard lock{changes_};
  TaskChanges written;
  std::vector<Task> deleted;
  store_.change_tasks(names, scope, [&](std::vector<Task> current) {
    written = decide(current);
    deleted.clear();
    for (const std::string& id : written.deletes) {
      auto it = std::ranges::find(current, id, &Task::id);
      if (it != current.end()) deleted.push_back(*it);
    }
    return written;
  });
  for (const Task& t : written.inserts) {
    engine_.schedule(t);
    if (announce_) announce_("task.created", t);
  }
  for (const Task& t : written.updates) {
    engine_.schedule(t);
    if (announce_) announce_("task.updated", t);
  }
  for (const Task& t : deleted) {
    engine_.unschedule(t.id);
    if (announce_) announce_("task.deleted", t);
  }
  return written;
}

void TaskService::check_limits(std::string_view id, const Audit& audit) {
  std::lock_guard lock{changes_};
  auto task = store_.get_task(id);
  if (!task) return;
  if (!task->enabled) {
    // Paused by the store as its last run was claimed (or by anyone since): follow it.
    if (!engine_.scheduled(id)) return;
    engine_.schedule(*task);
    if (announce_) announce_("task.updated", *task);
    return;
  }
  if (!task->pause_after_failures) return;
  const int limit = *task->pause_after_failures;
  if (store_.consecutive_failures(id, task->updated_at, limit) < limit) return;
  const Task before = *task;
  task->enabled = false;
  task->paused_at = clock_.now();
  task->paused_note = "paused by cronkit: " + std::to_string(limit) +
                      (limit == 1 ? " failure" : " failures in a row") + " (pauseAfterFailures)";
  apply(before, std::move(*task), audit, true);
}

void TaskService::reload(Store& store, Engine& engine, const std::string& id) {
  if (id.empty()) {
    engine.reload_schedules(store.enabled_schedules());
  } else if (auto task = store.get_task(id)) {
    engine.schedule(*task);
  } else {
    engine.unschedule(id);
  }
}

}  // namespace cronkit::engine
