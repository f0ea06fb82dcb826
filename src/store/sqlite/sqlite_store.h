#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "core/store.h"
#include "store/open_store.h"
#include "store/sqlite/sqlite.h"

namespace cronkit::store {

/// The Store on one SQLite file: WAL journal, foreign keys on, a busy timeout. One
/// connection, used under a mutex. WAL with synchronous=NORMAL survives a crash of the
/// process; a power cut may lose the last commits, never corrupt the file.
class SqliteStore final : public Store {
 public:
  /// Opens `path` (or ":memory:") and migrates it. Throws StoreError.
  explicit SqliteStore(const std::string& path);

  const MigrationReport& migration_report() const { return report_; }

  Page<Task> list_tasks(const TaskFilter& filter) override;
  std::optional<Task> get_task(std::string_view id) override;
  std::vector<Task> enabled_tasks() override;
  std::vector<ScheduleSpec> enabled_schedules() override;
  bool insert_task(const Task& task) override;
  bool update_task(const Task& task) override;
  bool delete_task(std::string_view id) override;

  Page<Execution> list_executions(const ExecutionFilter& filter) override;
  std::vector<Execution> recent_executions(std::string_view task_id, int limit) override;
  std::optional<Execution> get_execution(std::string_view id) override;
  std::vector<bool> write_executions(std::span<const ExecutionWrite> batch) override;
  std::vector<Execution> queued_executions() override;
  std::int64_t fail_running(Millis now, std::string_view message) override;
  std::optional<Millis> latest_scheduled_for(std::string_view task_id) override;
  std::int64_t delete_successful_before(Millis cutoff) override;

  Stats stats(Millis now) override;
  bool ping() override;

 private:
  template <typename T, typename Read, typename Bind>
  Page<T> page(std::string_view select, std::string_view table, const std::string& where,
               std::string_view order, int page_number, int page_size, Bind bind_filter, Read read);

  std::mutex mutex_;
  sqlite::Database db_;
  MigrationReport report_;
};

}  // namespace cronkit::store
