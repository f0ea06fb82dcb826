#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "core/outbound.h"
#include "core/store.h"
#include "cron/cron_expr.h"
#include "cronkit/registry.h"
#include "engine/command_runner.h"
#include "engine/function_pool.h"
#include "engine/http_runner.h"
#include "engine/membership.h"
#include "engine/recorder.h"
#include "engine/runner.h"
#include "engine/timetable.h"

namespace cronkit::engine {

struct EngineOptions {
  int max_concurrency = 5;         // executions running at once; the rest wait, first in first out
  int log_retention_days = 30;     // successful executions older than this are deleted daily
  int audit_retention_days = 365;  // entries of the audit trail older than this, too
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
  // An attempt starts once `running` is stored, so that a start after a crash knows what
  // may have started (it is interrupted, never started again). Set, and without a cluster,
  // it starts at once instead, the record following: more executions a second for tasks
  // that take microseconds, but a crash in between runs the attempt again at restart.
  bool start_before_stored = false;
  // Back-pressure: firings claimed and not yet running (held for their instant, waiting
  // for a slot or for a retry), at most this many beyond max_concurrency. At the limit the
  // scheduler claims nothing more until executions finish: the rest are late (counters'
  // behind_ms), and one found later than misfire_grace_ms is recorded as skipped. Bounds
  // memory, and keeps an overloaded server from taking on what it cannot run.
  int max_queued = 10000;
  // Threads that run function handlers, created as needed up to this many (and never more
  // than max_concurrency). HTTP requests need none: one thread carries them all.
  int max_function_threads = 256;
  // Command tasks: whether they may run, where, as whom (see CommandRunner).
  CommandOptions commands;
  // Where HTTP tasks may connect (--http-allow, --http-deny), checked on every connection.
  OutboundRules outbound;
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
  // Called from the scheduler's own loop at least every `alive_every_ms` (0: never), so
  // that a watchdog can tell a loop that hangs (systemd's WATCHDOG=1). Called without the
  // engine's lock; it must be quick.
  Millis alive_every_ms = 0;
  std::function<void()> on_alive;
};

struct EngineCounters {
  std::int64_t scheduled_tasks = 0;
  std::int64_t running = 0;
  std::int64_t waiting = 0;          // queued for a free slot, or waiting to retry
  std::int64_t held = 0;             // claimed ahead of an instant that has not come yet
  std::int64_t cluster_members = 0;  // alive, this one included (0 without a cluster)
  std::int64_t taken_over = 0;       // executions taken over from silent members so far
  // How late the scheduler is: from the earliest firing it has not handled to now (0 when
  // it keeps up). Grows while max_queued holds firings back.
  std::int64_t behind_ms = 0;
  std::int64_t missed = 0;  // firings recorded as skipped for coming too late, so far
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

  /// A task was created or changed: schedule it from now on, or drop it if disabled. (Tasks
  /// are changed through TaskService, which calls this.)
  /// Throws std::invalid_argument if its pattern or time zone is invalid.
  void schedule(const Task& task);
  /// A task was deleted.
  void unschedule(std::string_view task_id);
  /// Schedules exactly these (every enabled task, read again after changes were missed).
  void reload_schedules(const std::vector<ScheduleSpec>& specs);
  /// Told whether a manual run was stored: called once, on the recorder's thread.
  using Stored = std::function<void(const std::string& execution_id, bool written)>;
  /// Runs a task now, outside its schedule, without waiting: `stored` is called once the
  /// execution is stored as queued or refused (before start(), at once: it is stored by
  /// start()). Returns the new execution's id. Throws StoreError when this server may not
  /// start executions (ready() is false) or execution records cannot be written. `audit`,
  /// if given, is recorded with the execution (ExecutionWrite::audit).
  std::string trigger(const Task& task, Stored stored,
                      std::shared_ptr<const AuditEntry> audit = nullptr);
  /// The same, returning once the execution is stored; also throws StoreError when the
  /// store does not confirm within 5 s.
  std::string trigger(const Task& task);
  /// Runs these past instants of a task (trigger `backfill`), in order, each claimed like a
  /// scheduled firing: one that has an execution already (or gets one from another server
  /// or request meanwhile) is not run again. `overlap`, if given, replaces the task's
  /// overlap policy for these runs. Returns at once; throws StoreError like trigger().
  void backfill(const Task& task, const std::vector<Millis>& instants,
                std::optional<OverlapPolicy> overlap);
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
  /// Whether the task is on this server's timetable (enabled, as far as it knows).
  bool scheduled(std::string_view task_id) const;
  /// Called, on the scheduler thread and off the engine's lock, with a task that may have
  /// reached a limit: its last counted run was claimed (maxRuns: the store paused it), or
  /// an execution of a task with pauseAfterFailures failed for good. TaskService sets it
  /// (check_limits); without one, the engine only follows a pause the store made.
  void on_limits(std::function<void(const std::string& task_id)> check);
  /// A number that changes whenever next_run() of any task may have changed, for caching
  /// what is built from them.
  std::uint64_t schedule_version() const { return timetable_.version(); }

  /// Waits until the scheduler has handled everything due at or before `t` on its clock
  /// (firings claimed or found missed, timers fired), or `timeout` of real time passed;
  /// false then. For tests on a manual clock: move the clock, wait for this, and whatever
  /// was not started by then was not due — no sleeping and hoping. While max_queued holds
  /// firings back, what is due is not handled: this waits (see counters().behind_ms).
  bool processed_until(Millis t, std::chrono::milliseconds timeout = std::chrono::seconds{10});

 private:
  struct Run;
  // A timer of a run: its deadline, the end of its retry delay, or its held instant.
  struct Timer {
    Millis at;
    // slow: when a run that started at `at` minus a rule's slowSeconds is slow.
    enum class Kind { deadline, retry, due, slow } kind;
    std::string execution_id;
    std::uint64_t token;
    bool operator>(const Timer& o) const { return at > o.at; }
  };
  using Lock = std::unique_lock<std::mutex>;

  // ---- the timetable's thread: firings due, timers, daily cleanup
  void scheduler_loop();
  // Claims firings: reads their tasks' current definitions and stores each as `queued`,
  // unique on (task, instant); a firing runs only once its insert commits (on_claimed_locked).
  void claim(std::vector<DueFiring> due);
  // A catch-up of a task whose catchUpPolicy is `all`: every missed instant within its
  // window after the last one run (or `d.after`), up to d.scheduled_for, at most
  // kMaxCatchUps (the rest kept in backlog_).
  std::vector<DueFiring> owed(const DueFiring& d, const Task& task, Millis now);
  // Asks for the next part of each backlog whose task ran what was claimed before.
  void continue_backlogs_locked(std::vector<DueFiring>& due);
  // A claim of a backlog's part was answered.
  void settle_backlog(const std::string& task_id);
  // A claimed firing: runs now, or is held until its instant if that is still ahead.
  void on_claimed_locked(std::shared_ptr<Run> run);
  // A held firing's instant came: runs it unless its task changed so that it no longer
  // fires then. A changed task's definition is read by the scheduler thread, off the lock.
  void release_locked(const std::shared_ptr<Run>& run);
  // Reads the definitions of firings whose task changed while they were held (off the lock)
  // and runs or skips them.
  void refresh(std::vector<std::shared_ptr<Run>> runs);

  // ---- the run's state machine: (buffered,) waiting, running, retry_wait, finished
  void enqueue_locked(std::shared_ptr<Run> run);
  void pump_locked();
  void start_attempt_locked(const std::shared_ptr<Run>& run);
  // Starts the attempt's work: its deadline (timed from `started`, read before anything
  // about the attempt was recorded), then the runner of its task's type — at once, or with
  // `collect` (or batch_launches_ set) at the next flush_launches_locked().
  void launch_locked(const std::shared_ptr<Run>& run, Millis started, bool collect = false);
  void attempt_done(const std::shared_ptr<Run>& run, std::uint64_t token, Outcome outcome);
  // A failed attempt: retried after retry_delay_locked() while attempts remain, else final.
  void retry_or_fail_locked(const std::shared_ptr<Run>& run, ExecutionStatus final_status,
                            std::string message, std::optional<Millis> retry_after = {});
  // How long before the run's next attempt: the task's delay, fixed or doubling (capped,
  // shortened at random by up to 20%), and at least an answer's Retry-After up to the cap.
  Millis retry_delay_locked(const Run& run, std::optional<Millis> retry_after);
  void finish_locked(const std::shared_ptr<Run>& run, ExecutionStatus status, std::string message);
  void skip_locked(const std::shared_ptr<Run>& run, std::string summary);
  void cancel_locked(Run& run);
  // A slow timer came: the run's `slow` rules whose threshold is `at` are told (to_tell_),
  // unless it finished.
  void tell_slow_locked(const Run& run, Millis at);
  void on_timer_locked(const Timer& t);
  // Drops a run that is over (or no longer this member's) from the books; the first
  // firing buffered behind it, if any, is made ready.
  void forget_locked(const Run& run);
  // Whether the task has an execution waiting for a slot, running or waiting to retry.
  bool running_for_locked(const std::string& task_id) const;
  Runner& runner_for(TaskType type);
  // Back-pressure (EngineOptions::max_queued): how many more firings may be claimed now.
  std::size_t admission_locked() const;
  // An execution finished or a claim was refused: wakes a scheduler that held firings back
  // once there is room for a batch of them.
  void capacity_freed_locked();
  // A claim that was counted (claiming_) and is not written after all.
  void claim_answered();
  // Records a firing found later than the misfire grace as skipped.
  void record_missed(const DueFiring& d, const std::string& owner, Millis now);
  // Hands the attempts collected by launch_locked to their runners.
  void flush_launches_locked();
  void record(const Run& run);
  // Has the task checked against its limits once `write` (of one of its runs) commits.
  void write_then_check(ExecutionWrite write, const std::string& task_id);
  // The store write of a run, carrying its owner.
  ExecutionWrite write_of(const Run& run, ExecutionWrite::Kind kind) const;
  // Adds a timer, waking the scheduler only if it sleeps past it.
  void add_timer_locked(Timer t);

  // ---- recovery, and the cluster's hooks (Membership)
  // Runs executions this member now owns (taken over, or recovered at start).
  void adopt(std::vector<Execution> queued);
  // This member was silent too long: forgets every run (their writes are refused now).
  void abandon();
  // The lease holds again: start what waited, claim the catch-ups missed meanwhile.
  void lease_renewed();
  // Another member changed a task ("": reload every task).
  void task_changed(const std::string& task_id);
  bool may_start_locked() const { return !membership_ || membership_->lease_valid(); }

  Store& store_;
  const Clock& clock_;
  const EngineOptions options_;
  Recorder recorder_;
  FunctionPool functions_;
  HttpRunner http_;
  CommandRunner commands_;
  std::unique_ptr<Membership> membership_;  // null: this process alone uses the database

  mutable std::mutex mutex_;
  std::condition_variable wake_;          // the scheduler thread
  std::condition_variable runs_changed_;  // stop() waiting for running executions
  bool started_ = false;
  bool stopping_ = false;
  Timetable timetable_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::unordered_map<std::string, std::shared_ptr<Run>> runs_;               // by execution id
  std::unordered_map<std::string, std::unordered_set<std::string>> active_;  // task -> executions
  std::deque<std::shared_ptr<Run>> ready_;                                   // waiting for a slot
  // Firings of buffer_one and buffer_all tasks waiting, in order, for the task's running
  // execution to end (at most kMaxBuffered each).
  std::unordered_map<std::string, std::deque<std::shared_ptr<Run>>> buffered_;
  static constexpr std::size_t kMaxBuffered = 100;
  std::vector<std::shared_ptr<Run>> to_refresh_;  // held firings whose task changed
  std::vector<std::string> to_check_;             // tasks that may have reached a limit (on_limits)
  std::vector<Delivery> to_tell_;  // `slow` notifications, queued by the scheduler thread
  // Held while the check runs, so that on_limits() returns only once none is running.
  std::mutex limits_mutex_;
  std::function<void(const std::string&)> check_limits_;
  bool batch_launches_ = false;  // launch_locked collects attempts instead of handing them over
  std::array<std::vector<Runner::Job>, 3> launches_;  // by task type, while batch_launches_
  int running_ = 0;
  int held_ = 0;
  std::int64_t claiming_ = 0;  // claims handed to the recorder and not yet answered
  bool held_back_ = false;     // the last pass left due firings unclaimed (max_queued)
  std::int64_t missed_count_ = 0;
  std::uint64_t next_attempt_ = 1;
  std::mt19937_64 rng_{std::random_device{}()};  // retry backoff's random shortening
  // Moves when this member starts over: runs made before are dropped.
  std::uint64_t epoch_ = 0;
  Millis next_cleanup_ = 0;
  Millis next_alive_ = 0;  // when the scheduler loop calls on_alive next
  Millis wakes_at_ = 0;    // when the sleeping scheduler wakes by itself (max: it is awake)
  Millis processed_ = std::numeric_limits<Millis>::min();  // see processed_until()
  std::condition_variable processed_cv_;
  std::unordered_map<std::string, Millis> missed_;  // catch-up instants not claimed (no lease)
  // Catch-ups of every missed instant (catchUpPolicy `all`) go out at most kMaxCatchUps at a
  // time per task; the rest waits here, claimed once the task ran what was claimed before.
  struct Backlog {
    Millis after;       // the last instant claimed
    Millis until;       // the latest missed instant
    int in_flight = 0;  // claims of the last part not answered yet (-1: next part asked)
  };
  std::unordered_map<std::string, Backlog> backlog_;
  static constexpr std::size_t kMaxCatchUps = 1000;
  std::atomic<bool> reload_{false};  // a task change was missed: reload all
  std::thread scheduler_;
};

}  // namespace cronkit::engine
