#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "core/store.h"
#include "store/execution_window.h"
#include "store/open_store.h"
#include "store/sqlite/sqlite.h"

namespace cronkit::store {

/// The Store on one SQLite file: WAL journal, foreign keys on, a busy timeout. Writes go
/// through one connection under a mutex; reads through a pool of read-only connections,
/// which WAL lets run beside the writer and each other. WAL with synchronous=NORMAL
/// survives a crash of the process; a power cut may lose the last commits, never corrupt
/// the file. Task counts and the last 24 hours of executions are also counted in memory
/// (the file has one writer: this process), so that lists and stats do not count rows.
class SqliteStore final : public Store {
 public:
  /// Opens `path` (or ":memory:") and migrates it. Throws StoreError. The write-ahead log
  /// is started over once it holds `wal_restart_pages` pages (64 MiB of 4 KiB pages), even
  /// while readers never pause (sqlite::Database::bound_wal).
  explicit SqliteStore(const std::string& path, int wal_restart_pages = 16384);

  const MigrationReport& migration_report() const { return report_; }

  Page<ListedTask> list_tasks(const TaskFilter& filter) override;
  std::optional<Task> get_task(std::string_view id) override;
  std::vector<Task> get_tasks(std::span<const std::string_view> ids) override;
  std::vector<Task> enabled_tasks() override;
  std::vector<ScheduleSpec> enabled_schedules() override;
  bool insert_task(const Task& task, const AuditEntry* audit = nullptr) override;
  bool update_task(const Task& task, const AuditEntry* audit = nullptr) override;
  bool pause_task(const Task& task, const AuditEntry* audit = nullptr) override;
  bool delete_task(std::string_view id, const AuditEntry* audit = nullptr) override;
  void change_tasks(std::span<const std::string> names, std::span<const std::string> scope,
                    const DecideChanges& decide) override;
  std::vector<Channel> list_channels() override;
  std::optional<Channel> get_channel(std::string_view id) override;
  bool insert_channel(const Channel& channel, const AuditEntry* audit = nullptr) override;
  bool update_channel(const Channel& channel, const AuditEntry* audit = nullptr) override;
  bool delete_channel(std::string_view id, const AuditEntry* audit = nullptr) override;
  std::vector<std::string> tasks_notifying(std::string_view channel_id, int limit) override;
  std::vector<ApiToken> list_tokens() override;
  std::optional<ApiToken> find_token(std::string_view hash) override;
  std::optional<ApiToken> get_token(std::string_view id) override;
  bool insert_token(const ApiToken& token, const AuditEntry* audit = nullptr) override;
  std::optional<ApiToken> revoke_token(std::string_view id, Millis now,
                                       const AuditEntry* audit = nullptr) override;
  void token_used(std::string_view id, Millis now) override;
  void record(const AuditEntry& entry) override;
  Page<AuditEntry> list_audit(const AuditFilter& filter) override;
  std::int64_t delete_audit_before(Millis cutoff) override;
  bool insert_delivery(const Delivery& delivery, const AuditEntry* audit = nullptr) override;
  bool update_delivery(const Delivery& delivery) override;
  void queue_deliveries(std::span<const Delivery> deliveries) override;
  void end_leases() override;
  std::vector<Task> tasks_telling(NotifyEvent event) override;
  bool check_missed(const Task& task, const NotifyRule& rule, Millis now, Millis until,
                    Millis grace_ms, const Instants& instants) override;
  std::vector<Delivery> lease_deliveries(std::string_view owner, Millis now, Millis lease_until,
                                         int limit) override;
  Page<Delivery> list_deliveries(const DeliveryFilter& filter) override;
  std::int64_t delete_deliveries_before(Millis cutoff) override;

  Page<Execution> list_executions(const ExecutionFilter& filter) override;
  std::vector<Execution> recent_executions(std::string_view task_id, int limit) override;
  std::optional<Execution> get_execution(std::string_view id) override;
  std::vector<bool> write_executions(std::span<const ExecutionWrite> batch) override;
  std::vector<Execution> queued_executions() override;
  std::int64_t fail_running(Millis now, std::string_view message) override;
  int consecutive_failures(std::string_view task_id, Millis since, int limit) override;
  std::optional<Millis> latest_scheduled_for(std::string_view task_id) override;
  std::int64_t delete_successful_before(Millis cutoff) override;

  Stats stats(Millis now) override;
  bool ping() override;
  std::uint64_t version() const override { return version_.load(); }

 private:
  class Reader;
  /// A connection to read with: an idle read-only one (a new one if none is idle), or the
  /// writer for ":memory:".
  Reader reader();

  // Under mutex_: recounts what tallies_ counts.
  void count_tasks_locked();
  void rebuild_window_locked(std::int64_t newest_second);
  void count_executions_locked(std::span<const ExecutionWrite> batch,
                               const std::vector<bool>& written);
  // Counts a claimed firing on its task (ExecutionWrite::counts_run); false, with the row
  // deleted again, when the task made max_runs already. Adds the task's type to `paused`
  // when this firing paused it.
  bool count_run_locked(const Execution& e, std::vector<TaskType>& paused);
  // Moves the alert state of the ended execution's rules and queues the deliveries that
  // causes (alert_on_end); returns how many.
  int alert_locked(const ExecutionWrite& w);
  // Inserts deliveries to send (the outbox), in the caller's transaction.
  void queue_locked(std::span<const Delivery> deliveries);
  // What a transaction changed in the tallies, added to them once it commits (settle).
  struct TaskTallies {
    std::int64_t tasks[3][2] = {};                 // by [type][enabled]
    std::vector<std::pair<Millis, bool>> leaving;  // deleted executions: queued_at, failed
  };
  // Under mutex_, in the caller's transaction: each returns false when the id is taken
  // (insert) or names no task.
  bool insert_task_locked(const Task& task, TaskTallies& tallies);
  bool update_task_locked(const Task& task, TaskTallies& tallies);
  bool delete_task_locked(std::string_view id, TaskTallies& tallies);
  // Under mutex_, after the commit: adds `changed` to the tallies and moves version_ on.
  void settle(const TaskTallies& changed);
  // update_task, queuing `told` and recording `audit` in the same transaction.
  bool update_task_telling(const Task& task, std::span<const Delivery> told,
                           const AuditEntry* audit);
  // Under mutex_, in the caller's transaction: records the entry, if any.
  void record_locked(const AuditEntry* entry);
  // Makes a change (`change()`: whether it was made) and records `audit` with it, in one
  // transaction under mutex_.
  template <typename Change>
  bool audited(const AuditEntry* audit, Change&& change);

  const std::string path_;
  std::mutex mutex_;  // the writer
  sqlite::Database db_;
  MigrationReport report_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<sqlite::Database>> idle_readers_;

  // Changed under mutex_ right after each commit; lock order: mutex_, then tallies_mutex_.
  std::mutex tallies_mutex_;
  std::int64_t tasks_[3][2] = {};  // by [type][enabled]
  ExecutionWindow window_;
  std::atomic<std::uint64_t> version_{0};  // moved on after each commit that changed rows
};

}  // namespace cronkit::store
