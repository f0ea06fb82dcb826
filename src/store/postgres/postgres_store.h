#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/cluster.h"
#include "core/store.h"
#include "store/open_store.h"
#include "store/postgres/pg.h"

namespace cronkit::store {

/// The Store on a PostgreSQL database that several cronkit servers share, and the
/// Cluster they form. Connections come from a pool (made on demand; a lost one is dropped,
/// and a read that met one runs again on a new one). Counts are read from the database:
/// other servers write too. A batch of executions is one statement per kind (unnest of
/// arrays), whatever its size. Every execution row names its owner (this process's member
/// id); changes to tasks are announced with NOTIFY.
class PostgresStore final : public Store, public Cluster {
 public:
  /// Connects to `url` (postgresql://...) and migrates the database. `writers`: see
  /// writers(). Throws StoreError.
  explicit PostgresStore(std::string url, int writers = 4);
  ~PostgresStore() override;

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
  void end_leases() override {}  // other servers' leases are theirs until they run out
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
  /// Creates the partitions of the month of `now` and the two after it (each month of
  /// scheduled_for has one) that are missing; also when the store opens.
  void prepare_history(Millis now) override;
  /// Drops each month wholly before `cutoff`, after moving what did not succeed in it to
  /// the default partition, and deletes the old successes in the default partition.
  std::int64_t delete_successful_before(Millis cutoff) override;

  Stats stats(Millis now) override;
  bool ping() override;
  /// Other servers change the data unseen: a new number on every call.
  std::uint64_t version() const override { return ++version_; }
  Cluster* cluster() override { return this; }
  /// Batches written side by side on separate connections (4 unless told otherwise):
  /// PostgreSQL takes concurrent writers, and one connection waits for each commit
  /// (measured: docs/performance.md).
  int writers() const override { return writers_; }

  // ---- Cluster
  std::string member_id() const override;
  std::vector<std::string> heartbeat(std::string_view node, Millis alive_ms) override;
  void rejoin() override;
  void leave() override;
  Takeover take_over(Millis dead_after_ms, Millis now, std::string_view message) override;
  std::vector<bool> claimed(std::span<const Firing> firings) override;
  std::unique_ptr<Subscription> watch_tasks(
      std::function<void(const std::string& task_id)> changed) override;

 private:
  class Lease;
  /// A connection for one call: an idle one from the pool, or a new one.
  Lease connection();
  /// Runs a read on a connection; if the connection turns out lost (the server restarted,
  /// or ended it), every idle one is dropped and the read runs once more on a new one.
  template <typename Read>
  auto read(Read&& r);
  /// Forgets the idle connections: one was found lost, the others likely are too.
  void drop_idle();
  // Moves the alert state of the rules of the executions that `updates` ended and queues the
  // deliveries that causes (alert_on_end); returns how many.
  int alert(pg::Connection& c, std::span<const ExecutionWrite> batch,
            std::span<const std::size_t> updates, const std::unordered_set<std::string>& done);
  /// Counts the claimed firings of `inserts` that count runs (ExecutionWrite::counts_run)
  /// on their tasks, in the batch's transaction; one whose task made max_runs already is
  /// deleted again and taken out of `inserted`. Returns how many `paused` deliveries the
  /// tasks it paused queued.
  int count_runs(pg::Connection& c, std::span<const ExecutionWrite> batch,
                 const std::vector<std::size_t>& inserts,
                 std::unordered_set<std::string>& inserted);
  // Inserts deliveries to send (the outbox), in the caller's transaction.
  void queue(pg::Connection& c, std::span<const Delivery> deliveries);
  // Records the audit entry, if any, in the caller's transaction.
  static void record(pg::Connection& c, const AuditEntry* entry);
  // Records the entries in the caller's transaction, with one statement.
  static void record_all(pg::Connection& c, std::span<const AuditEntry> entries);
  // Makes a change (`change(connection)`: whether it was made) and records `audit` with it
  // in one transaction; without an entry, the change alone.
  template <typename Change>
  bool audited(const AuditEntry* audit, Change&& change);
  // Tells the rules of the tasks of executions that a server's death failed; returns how
  // many deliveries that queued.
  int alert_interrupted(pg::Connection& c, const std::vector<Execution>& failed);
  static const std::string& update_task_sql();
  /// Whether the planner's statistics put the executions at ten times
  /// ExecutionFilter::kMaxCounted or more (read at most every kLargeCheck).
  bool large_history();

  const std::string url_;
  const int writers_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<pg::Connection>> idle_;
  MigrationReport report_;
  mutable std::atomic<std::uint64_t> version_{0};
  std::mutex large_mutex_;
  std::chrono::steady_clock::time_point large_checked_{};
  bool large_ = false;
  mutable std::mutex member_mutex_;
  std::string member_id_;
};

}  // namespace cronkit::store
