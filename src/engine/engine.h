#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/store.h"
#include "cron/cron_expr.h"
#include "cronkit/registry.h"
#include "engine/http_runner.h"
#include "engine/recorder.h"

namespace cronkit::engine {

struct EngineOptions {
  int max_concurrency = 5;      // executions running at once; the rest wait, first in first out
  int log_retention_days = 30;  // successful executions older than this are deleted daily
  std::string node_id = "local";
  Millis shutdown_grace_ms = 30000;  // how long stop() lets running executions finish
  // A firing found more than this late (the clock jumped forward, the process was stopped)
  // is missed: tasks with catch-up run once for the latest missed instant, others skip.
  Millis misfire_grace_ms = 60000;
  // Firings are claimed (stored as `queued`) this long before their instant and held until
  // it, so that the write does not delay the start: 10,000 tasks due in one second start on
  // time. Below one second, the shortest period of a schedule, so that a task has at most
  // one firing held at a time.
  Millis queue_ahead_ms = 800;
  // Threads that run function handlers, created as needed up to this many (and never more
  // than max_concurrency). HTTP requests need none: one thread carries them all.
  int max_function_threads = 256;
  // Several servers on one database (the store has a Cluster): every `heartbeat_ms` this
  // one renews its heartbeat; without one that reached the database for `lease_ms` it
  // starts nothing (another may take over its work); the others take over its executions
  // when it has been silent for `dead_after_ms` (by the database's clock). A firing owned
  // by another member is checked `backup_after_ms` after its instant and claimed here if
  // nobody did. lease_ms < dead_after_ms - heartbeat_ms keeps a silent member from starting
  // what another takes over.
  Millis heartbeat_ms = 1000;
  Millis lease_ms = 3000;
  Millis dead_after_ms = 6000;
  Millis backup_after_ms = 3000;
  // Told of every state an execution reaches once it is stored as queued: running, waiting
  // to retry, and its end. Called on the engine's threads, in order for one execution,
  // with the engine's lock held: it must be quick and must not call the engine.
  std::function<void(const Execution&)> on_change;
};

struct EngineCounters {
  std::int64_t scheduled_tasks = 0;
  std::int64_t running = 0;
  std::int64_t waiting = 0;          // queued for a free slot, or waiting to retry
  std::int64_t held = 0;             // claimed ahead of an instant that has not come yet
  std::int64_t cluster_members = 0;  // alive, this one included (0 without a cluster)
  std::int64_t taken_over = 0;       // executions taken over from silent members so far
};

/// Fires enabled tasks at their cron instants and runs them: one timer heap for every
/// task, a durable queue (each firing is stored as `queued` before it runs, unique on
/// task and instant), at most max_concurrency executions at once, retries, timeouts,
/// overlap policies, recovery at start. Firings are claimed shortly before their instant
/// (queue_ahead_ms) and start at it. With a store shared by several servers, each firing
/// is claimed by one member chosen by hashing (task, instant) over the live members, and
/// checked by the others later (see EngineOptions::backup_after_ms); a silent member's
/// executions are taken over.
///   Engine e{store, clock, registry, {.max_concurrency = 5}};
///   e.start();  e.schedule(task);  ...  e.stop();
/// Thread-safe.
class Engine {
 public:
  Engine(Store& store, const Clock& clock, const Registry& registry, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Recovers what a previous run left (running executions fail as interrupted, queued
  /// ones run, catch-up tasks run once for a missed instant), loads every enabled task
  /// and starts firing.
  void start();
  /// Stops firing, lets running executions finish within the grace period, records the
  /// rest as interrupted. Executions still waiting stay queued for the next start.
  void stop();

  /// A task was created or changed: schedule it from now on, or drop it if disabled.
  /// Throws std::invalid_argument if its pattern or time zone is invalid.
  void schedule(const Task& task);
  /// A task was deleted.
  void unschedule(std::string_view task_id);
  /// Runs a task now, outside its schedule. Returns the new execution's id once the
  /// execution is stored (queued; before start(), at once: it is stored by start()). Throws
  /// StoreError when this server may not start executions (ready() is false), when
  /// execution records cannot be written, or when the store does not confirm within 5 s.
  std::string trigger(const Task& task);
  /// False while this server may not start executions: in a cluster, when its heartbeat
  /// has not reached the database within lease_ms.
  bool ready() const;
  /// While execution records cannot be written (disk full, read-only database), why: the
  /// records are kept in memory and retried, and nothing is lost unless the process dies.
  std::optional<std::string> write_failure() const { return recorder_.failure(); }

  EngineCounters counters() const;
  /// The next instant the task fires at, if it is scheduled.
  std::optional<Millis> next_run(std::string_view task_id) const;
  /// next_run() of each task, under one lock.
  std::vector<std::optional<Millis>> next_runs(std::span<const std::string_view> task_ids) const;
  /// A number that changes whenever next_run() of any task may have changed, for caching
  /// what is built from them.
  std::uint64_t schedule_version() const { return schedule_version_.load(); }

 private:
  struct Slot;
  struct Run;
  struct Due;
  // A firing owned by another member, to check once backup_after_ms have passed.
  struct Watch {
    std::string task_id;
    Millis at;
    std::uint64_t generation;
  };
  // How one attempt ended.
  struct Outcome {
    bool ok = false;
    bool retryable = true;   // false when trying again cannot help (no such function)
    bool timed_out = false;  // the HTTP client gave up at the deadline
    std::string message;
    std::optional<std::string> output;
  };
  struct Timer {
    Millis at;
    enum class Kind { deadline, retry, due } kind;
    std::string execution_id;
    std::uint64_t token;
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  // A task's next instant. `generation` tells a live entry from one left behind by a
  // reschedule: only the slot's current generation fires.
  struct HeapEntry {
    Millis at;
    std::uint64_t generation;
    std::uint32_t slot;
    bool operator>(const HeapEntry& o) const { return at > o.at; }
  };
  using Lock = std::unique_lock<std::mutex>;

  void scheduler_loop();
  // Adds a slot for each schedule; returns the catch-up firings they are owed.
  std::vector<Due> load_locked(const std::vector<ScheduleSpec>& specs, Millis now);
  void worker_loop();
  // Loads the tasks of due firings and hands each to the recorder as `queued`.
  void dispatch(std::vector<Due> due);
  // A stored firing: runs now, or is held until its instant if that is still ahead.
  void claimed_locked(std::shared_ptr<Run> run);
  // A held firing's instant came: runs it unless its task changed so that it no longer fires.
  void release_locked(const std::shared_ptr<Run>& run);
  void enqueue_locked(std::shared_ptr<Run> run);
  void pump_locked();
  void start_attempt_locked(const std::shared_ptr<Run>& run);
  // Starts the attempt's work: its deadline, then a function worker or the HTTP runner.
  void launch_locked(const std::shared_ptr<Run>& run);
  // Drops a run that is over (or no longer this member's) from the books.
  void forget_locked(const Run& run);
  void attempt_done(const std::shared_ptr<Run>& run, std::uint64_t token, Outcome outcome);
  // Starts more function workers when all are busy and the queue has not moved for a
  // while. Returns true while work is waiting for a worker that may still be added.
  bool grow_workers_locked();
  void cancel_locked(Run& run);
  void attempt_failed_locked(const std::shared_ptr<Run>& run, ExecutionStatus final_status,
                             std::string message);
  void finish_locked(const std::shared_ptr<Run>& run, ExecutionStatus status, std::string message);
  void on_timer_locked(const Timer& t);
  void free_slot_locked(std::string_view task_id);
  void add_slot_locked(const std::string& task_id, cron::CronExpr expr, const cron::Zone* zone,
                       bool catch_up, Millis now);
  void record(const Run& run);
  // The store write of a run, carrying its owner.
  ExecutionWrite write_of(const Run& run, ExecutionWrite::Kind kind) const;

  // ---- cluster (only with cluster_)
  void cluster_loop();
  // Renews the heartbeat, takes over silent members' work, checks others' firings.
  void beat();
  // Whether this member claims the firing: the highest hash of (member, task, instant).
  bool owns_locked(std::string_view task_id, Millis at) const;
  bool lease_valid_locked() const;
  // This member was silent so long that others may have taken over its work: forget all
  // of it (their writes are refused now) before starting over as a new member.
  void abandon_locked();
  // Runs executions this member now owns (taken over, or recovered).
  void adopt(std::vector<Execution> queued);
  // Another member changed a task ("" : reload every task).
  void task_changed(const std::string& task_id);

  Store& store_;
  const Clock& clock_;
  const Registry& registry_;
  const EngineOptions options_;
  const std::size_t max_workers_;   // function threads at most
  const std::size_t base_workers_;  // started as soon as work waits; more when handlers stall
  Recorder recorder_;
  HttpRunner http_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;          // the scheduler thread
  std::condition_variable work_ready_;    // worker threads
  std::condition_variable runs_changed_;  // stop() waiting for running executions
  bool started_ = false;
  bool stopping_ = false;
  // Scheduled tasks, compact because there may be a million: slots in a vector (freed ones
  // reused), the task id kept once, as the key of index_.
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::uint32_t, IdHash, std::equal_to<>> index_;
  std::atomic<std::uint64_t> schedule_version_{0};  // changed under mutex_
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::unordered_map<std::string, std::shared_ptr<Run>> runs_;               // by execution id
  std::unordered_map<std::string, std::unordered_set<std::string>> active_;  // task -> executions
  std::deque<std::shared_ptr<Run>> ready_;                                   // waiting for a slot
  std::deque<std::pair<std::shared_ptr<Run>, std::uint64_t>> work_;          // for worker threads
  int running_ = 0;
  int held_ = 0;
  int idle_workers_ = 0;
  std::chrono::steady_clock::time_point progress_;  // when a worker last took an item
  std::uint64_t next_generation_ = 1;
  std::uint64_t next_transfer_ = 1;
  Millis next_cleanup_ = 0;
  std::thread scheduler_;
  std::vector<std::thread> workers_;

  Cluster* const cluster_;            // null: this process alone uses the database
  std::string member_;                // this member's id (changes when it starts over)
  std::uint64_t epoch_ = 0;           // moves with member_: claims made before are dropped
  std::vector<std::string> members_;  // alive, sorted
  // When the last heartbeat that reached the database was sent (steady clock).
  std::chrono::steady_clock::time_point last_beat_{};
  std::vector<Execution> to_adopt_;  // taken over, waiting for their tasks to be read
  std::atomic<bool> reload_{false};  // a task change was missed: reload every task
  std::deque<Watch> watches_;
  std::unordered_map<std::string, Millis> missed_;  // catch-up tasks' instants not claimed
  std::int64_t taken_over_ = 0;
  std::condition_variable cluster_wake_;
  std::thread cluster_thread_;
  std::unique_ptr<Subscription> task_watch_;
};

}  // namespace cronkit::engine
