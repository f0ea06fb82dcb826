#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/task.h"

namespace cronkit {

/// An instant of a task's schedule.
struct Firing {
  std::string task_id;
  Millis scheduled_for = 0;
};

/// What a member found when it took over the executions of members that went silent.
struct Takeover {
  std::vector<Execution> queued;       // now this member's to run (their tasks still exist)
  std::vector<Execution> interrupted;  // were running there: now failed
};

/// Stops a watch when destroyed.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

/// What several servers sharing one database need of it. Each server process is a
/// *member* with an id of its own (a restarted server is a new member). A member renews
/// its heartbeat, timed by the database's clock; the executions of a member whose
/// heartbeat stopped are taken over by the others. Every execution row names the member
/// that owns it, and a member only changes the rows it owns: writes of a member that was
/// taken over are refused. Thread-safe; failures of the database throw StoreError.
class Cluster {
 public:
  virtual ~Cluster() = default;

  /// This process's id in the cluster.
  virtual std::string member_id() const = 0;
  /// Records that this member is alive, under the name `node` (shown as an execution's
  /// node), and returns the ids of the members alive now (heartbeat within `alive_ms`),
  /// this one included, sorted.
  virtual std::vector<std::string> heartbeat(std::string_view node, Millis alive_ms) = 0;
  /// Starts over as a new member, after a silence so long that others may have taken over
  /// this one's executions: what the old member owned is taken over like any silent one's.
  virtual void rejoin() = 0;
  /// Leaves the cluster (a clean stop): what this member leaves queued is taken over by
  /// the others at once.
  virtual void leave() = 0;
  /// Takes over the executions of members silent for longer than `dead_after_ms`:
  /// queued ones become this member's; running ones go back to queued for a retry when
  /// their task allows one more attempt, and are recorded failed with `message` otherwise.
  virtual Takeover take_over(Millis dead_after_ms, Millis now, std::string_view message) = 0;
  /// Whether each firing has an execution already, whoever claimed it.
  virtual std::vector<bool> claimed(std::span<const Firing> firings) = 0;
  /// Calls `changed(task_id)` on a thread of its own whenever another member changed a
  /// task (created, updated, deleted), and `changed("")` when changes may have been
  /// missed (the connection was lost): then everything must be reloaded. Until the
  /// returned subscription is destroyed. Returns once it listens, so that every change
  /// committed afterwards is told (or, when the database cannot be reached for a few
  /// seconds, without: its first connection then calls `changed("")`).
  virtual std::unique_ptr<Subscription> watch_tasks(
      std::function<void(const std::string& task_id)> changed) = 0;
};

}  // namespace cronkit
