#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/access.h"
#include "core/channel.h"
#include "core/cluster.h"
#include "core/task.h"

namespace cronkit {

template <typename T>
struct Page {
  std::vector<T> list;
  std::int64_t total = 0;
  int page = 1;
  int page_size = 20;
  // Executions only: whether `total` is exact (false: it is ExecutionFilter::kMaxCounted,
  // and there are more), and the cursor of the next, older page (empty: this is the last).
  bool total_exact = true;
  std::string next_cursor;
  // Executions only: the names of the listed executions' tasks, by id, read with the page
  // (a task deleted meanwhile is left out).
  std::unordered_map<std::string, std::string> task_names;
};

/// A task in a list, with the status of its newest execution.
struct ListedTask {
  Task task;
  std::optional<ExecutionStatus> last_status;
};

struct TaskFilter {
  int page = 1;  // 1-based
  int page_size = 20;
  std::optional<TaskType> type;
  std::optional<bool> enabled;
  /// Tasks whose name contains this text, ignoring the case of ASCII letters.
  std::optional<std::string> name_contains;
  /// Tasks carrying every one of these tags.
  std::vector<std::string> tags;
};

/// Newest first, by offset (page) or after a cursor (before: the page starts after that
/// execution id, so a deep page costs what the first does). The total is counted up to
/// kMaxCounted, so that it costs the same with a year of history as with a day.
struct ExecutionFilter {
  static constexpr std::int64_t kMaxCounted = 10'000;
  int page = 1;
  int page_size = 20;
  std::optional<std::string> task_id;
  std::optional<ExecutionStatus> status;
  std::optional<std::string> before;  // an execution id; page is then 1
};

struct DeliveryFilter {
  int page = 1;
  int page_size = 20;
  std::optional<std::string> channel_id;
  std::optional<std::string> task_id;
  std::optional<DeliveryStatus> status;
};

/// Newest first. `action` is one action ("task.update") or every action of a kind ("task").
struct AuditFilter {
  int page = 1;
  int page_size = 50;
  std::optional<std::string> target;  // a target's id or name
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<Millis> from;  // at >= from
  std::optional<Millis> to;    // at < to
};

struct Stats {
  std::int64_t total_tasks = 0;
  std::int64_t enabled_tasks = 0;
  std::int64_t last24h_executions = 0;  // queued in the current second and the 86,399 before
  std::int64_t last24h_failures = 0;    // of those, failed or timed out
  std::int64_t running = 0;
  std::int64_t queued = 0;
};

/// What the scheduler needs of an enabled task: a fraction of the row, for loading a
/// million of them at start.
struct ScheduleSpec {
  std::string id;
  std::string cron_expression;
  std::string timezone;
  bool catch_up = false;
  Millis created_at = 0;
  std::optional<Millis> start_at;  // Task::start_at, end_at
  std::optional<Millis> end_at;
  int jitter_seconds = 0;
};

/// One row of a group commit: a new execution, or a new state of an existing one.
struct ExecutionWrite {
  enum class Kind { insert, update };
  Kind kind = Kind::insert;
  Execution execution;
  /// In a cluster, the member the row belongs to (an update is refused unless it owns the
  /// row); empty: the store's own member id. Ignored by a store without a cluster.
  std::string owner;
  /// A scheduled firing of a task with maxRuns: see Store::write_executions().
  bool counts_run = false;
  /// The task as the execution ran it: its notification rules are applied to an update that
  /// ends the execution (see Store::write_executions()). Null: none are.
  std::shared_ptr<const Task> task;
  /// Recorded in the audit trail with the row, if the row is written.
  std::shared_ptr<const AuditEntry> audit;
};

/// Changes of several tasks, written together (Store::change_tasks).
struct TaskChanges {
  std::vector<Task> inserts;
  std::vector<Task> updates;         // each replaces every field of the task with its id
  std::vector<std::string> deletes;  // ids: the tasks go with their executions
  std::vector<AuditEntry> audit;     // recorded with them
  bool empty() const { return inserts.empty() && updates.empty() && deletes.empty(); }
};

/// Where tasks and their executions live. Implementations: SQLite and PostgreSQL; the
/// only code that knows them is open_store(). All methods are thread-safe; each is one
/// transaction. Failures of the database itself throw StoreError.
class Store {
 public:
  virtual ~Store() = default;

  // Each method that changes something takes an optional audit entry, written in the same
  // transaction when the change is made (and not when it is refused: returns false).

  // ---- tasks
  /// A page of tasks, newest first.
  virtual Page<ListedTask> list_tasks(const TaskFilter& filter) = 0;
  virtual std::optional<Task> get_task(std::string_view id) = 0;
  /// The tasks with these ids that exist, in no particular order.
  virtual std::vector<Task> get_tasks(std::span<const std::string_view> ids) = 0;
  /// Every enabled task.
  virtual std::vector<Task> enabled_tasks() = 0;
  /// The schedule of every enabled task, for the scheduler to load.
  virtual std::vector<ScheduleSpec> enabled_schedules() = 0;
  /// Returns false if a task with this id exists already.
  virtual bool insert_task(const Task& task, const AuditEntry* audit = nullptr) = 0;
  /// Replaces every field of the task with this id; returns false if there is none.
  virtual bool update_task(const Task& task, const AuditEntry* audit = nullptr) = 0;
  /// update_task() for a task that paused itself (`task` as paused, with its note): also
  /// queues a `paused` delivery for each of its rules that asks, in the same transaction.
  virtual bool pause_task(const Task& task, const AuditEntry* audit = nullptr) = 0;
  /// Deletes the task and all its executions; returns false if there was no such task.
  virtual bool delete_task(std::string_view id, const AuditEntry* audit = nullptr) = 0;
  /// Decides changes of several tasks from the tasks as they are, and writes them.
  using DecideChanges = std::function<TaskChanges(std::vector<Task> current)>;
  /// In one transaction: reads the tasks named one of `names`, and, when `scope` has any
  /// tags, every task carrying all of them (oldest first); gives them to `decide`; and
  /// writes what it returns, all or nothing. No two change_tasks() run at once, also on
  /// different servers sharing the database, so what `decide` saw is what is changed.
  /// `decide` may throw: nothing is written, and the exception goes to the caller.
  virtual void change_tasks(std::span<const std::string> names, std::span<const std::string> scope,
                            const DecideChanges& decide) = 0;

  // ---- notification channels
  /// Every channel, oldest first.
  virtual std::vector<Channel> list_channels() = 0;
  virtual std::optional<Channel> get_channel(std::string_view id) = 0;
  /// Returns false if a channel with this id exists already.
  virtual bool insert_channel(const Channel& channel, const AuditEntry* audit = nullptr) = 0;
  /// Replaces every field of the channel with this id; returns false if there is none.
  virtual bool update_channel(const Channel& channel, const AuditEntry* audit = nullptr) = 0;
  /// Returns false if there was no such channel.
  virtual bool delete_channel(std::string_view id, const AuditEntry* audit = nullptr) = 0;
  /// The names of up to `limit` tasks (oldest first) with a notification rule to the channel.
  virtual std::vector<std::string> tasks_notifying(std::string_view channel_id, int limit) = 0;

  // ---- API tokens
  /// Every token, revoked and expired ones too, oldest first.
  virtual std::vector<ApiToken> list_tokens() = 0;
  /// The token with this SHA-256 (ApiToken::hash), revoked or not.
  virtual std::optional<ApiToken> find_token(std::string_view hash) = 0;
  virtual std::optional<ApiToken> get_token(std::string_view id) = 0;
  /// Returns false if a token that is not revoked has its name, or its id or hash exists.
  virtual bool insert_token(const ApiToken& token, const AuditEntry* audit = nullptr) = 0;
  /// Revokes the token at `now`, unless it was revoked already, and returns it as it is
  /// then; none if there is no such token.
  virtual std::optional<ApiToken> revoke_token(std::string_view id, Millis now,
                                               const AuditEntry* audit = nullptr) = 0;
  /// Records that the token was used at `now`.
  virtual void token_used(std::string_view id, Millis now) = 0;

  // ---- the audit trail
  /// Records an entry that goes with no change of the store (a refused token, a test
  /// notification), in its own transaction.
  virtual void record(const AuditEntry& entry) = 0;
  /// A page of the audit trail, newest first.
  virtual Page<AuditEntry> list_audit(const AuditFilter& filter) = 0;
  /// Deletes the entries recorded before `cutoff`; returns how many.
  virtual std::int64_t delete_audit_before(Millis cutoff) = 0;

  // ---- notification deliveries
  /// Returns false if a delivery with this id exists already.
  virtual bool insert_delivery(const Delivery& delivery, const AuditEntry* audit = nullptr) = 0;
  /// Writes its status, attempts, last status and error, finished_at and next_attempt_at,
  /// and ends its lease; false if there is no such delivery.
  virtual bool update_delivery(const Delivery& delivery) = 0;
  /// The enabled tasks with a rule that tells `event`.
  virtual std::vector<Task> tasks_telling(NotifyEvent event) = 0;
  /// Which of the task's instants in (after, until], oldest first.
  using Instants = std::function<std::vector<Millis>(Millis after, Millis until)>;
  /// Checks the instants of `task` up to `until` for its `missed` rule `rule`, in one
  /// transaction, once each across servers: the instants after the last check (or after the
  /// task last changed, whichever is later) whose execution did not start within
  /// `grace_ms` are missed; if any were, one delivery tells how many (queued at `now`).
  /// Returns whether it queued one.
  virtual bool check_missed(const Task& task, const NotifyRule& rule, Millis now, Millis until,
                            Millis grace_ms, const Instants& instants) = 0;
  /// Queues deliveries to send (the outbox), in one transaction.
  virtual void queue_deliveries(std::span<const Delivery> deliveries) = 0;
  /// Leases to `owner`, until `lease_until`, up to `limit` pending deliveries whose next
  /// attempt is due at `now` and that nobody else holds, oldest due first. A channel with a
  /// send_interval() gets all of its due deliveries at once (for one digest), and then none
  /// until the interval passed.
  virtual std::vector<Delivery> lease_deliveries(std::string_view owner, Millis now,
                                                 Millis lease_until, int limit) = 0;
  /// Ends every delivery lease, for a store that one process owns (SQLite), at its start:
  /// what a killed server was sending is sent again at once. A store that several servers
  /// share (PostgreSQL) does nothing: leases run out.
  virtual void end_leases() = 0;
  /// Calls `wake` after each commit that queued a delivery (on the committing thread, which
  /// may hold the store's locks: `wake` must only signal, never call the store).
  void on_deliveries_queued(std::function<void()> wake) {
    std::lock_guard lock{wake_mutex_};
    wake_ = std::move(wake);
  }
  /// A page of deliveries, newest first.
  virtual Page<Delivery> list_deliveries(const DeliveryFilter& filter) = 0;
  /// Deletes the deliveries created before `cutoff` that finished, and tests that never did
  /// (a test is not sent again); returns how many.
  virtual std::int64_t delete_deliveries_before(Millis cutoff) = 0;

  // ---- executions
  virtual Page<Execution> list_executions(const ExecutionFilter& filter) = 0;
  /// The task's newest executions, newest first.
  virtual std::vector<Execution> recent_executions(std::string_view task_id, int limit) = 0;
  virtual std::optional<Execution> get_execution(std::string_view id) = 0;

  /// Writes a batch in one transaction (group commit). Returns, per row, whether it was
  /// written: an insert is refused when its task already has a scheduled execution for
  /// that instant (the claim on (task_id, scheduled_for)) or the task no longer exists;
  /// an update, when the execution no longer exists, is finished already, or (in a
  /// cluster) belongs to another member. An insert that `counts_run` also counts the firing
  /// on its task, and is refused once the task made max_runs firings; the one that reaches
  /// max_runs pauses the task, with a note, in the same transaction (and queues the
  /// `paused` deliveries of the rules of its `task`). An update that ends an
  /// execution (but for skipped) with a `task` moves the alert state of each of its rules and
  /// queues the deliveries that causes (after_execution()), in the same transaction.
  virtual std::vector<bool> write_executions(std::span<const ExecutionWrite> batch) = 0;

  /// Executions still queued, oldest first (start-up recovery runs them). A store shared
  /// by several servers recovers through its Cluster instead.
  virtual std::vector<Execution> queued_executions() = 0;
  /// Ends what a server that stopped without finishing left running (the attempt may have
  /// started): an execution whose task has retries left (attempts <= max_retries) goes back
  /// to queued, to be retried, with `message` as its last error; every other one fails
  /// with `message`. Returns how many failed.
  virtual std::int64_t fail_running(Millis now, std::string_view message) = 0;
  /// How many of the task's newest finished executions queued at or after `since` failed or
  /// timed out in a row (skipped ones do not count, nor break the row), up to `limit`.
  virtual int consecutive_failures(std::string_view task_id, Millis since, int limit) = 0;
  /// The latest scheduled_for among the task's schedule and catch-up executions.
  virtual std::optional<Millis> latest_scheduled_for(std::string_view task_id) = 0;
  /// Makes the store ready for the executions of the coming months (PostgreSQL creates
  /// their partitions). Called daily, before the cleanup.
  virtual void prepare_history(Millis /*now*/) {}
  /// Deletes successful executions queued before `cutoff`; returns how many. PostgreSQL
  /// drops a month of executions (by scheduled_for) once all of it is before `cutoff`,
  /// keeping its unsuccessful ones, so that its successes live up to a month longer.
  virtual std::int64_t delete_successful_before(Millis cutoff) = 0;

  virtual Stats stats(Millis now) = 0;
  /// True if the database answers.
  virtual bool ping() = 0;

  /// How servers share this database, or null when one process owns it (SQLite).
  virtual Cluster* cluster() { return nullptr; }
  /// How many write_executions() calls may usefully run at once (SQLite has one writer).
  virtual int writers() const { return 1; }

  /// A number that changes after every commit that changed tasks or executions, for
  /// caching what is read from them: read it before reading the data. A store that cannot
  /// see every change (other processes writing) returns a new number on every call.
  virtual std::uint64_t version() const = 0;

 protected:
  void deliveries_queued() {
    std::lock_guard lock{wake_mutex_};
    if (wake_) wake_();
  }

 private:
  std::mutex wake_mutex_;
  std::function<void()> wake_;
};

/// The database failed (I/O error, disk full, corrupt file...), not the caller.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cronkit
