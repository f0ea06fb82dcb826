#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <filesystem>

#include "core/clock.h"
#include "core/ids.h"
#include "store/migrations.h"

namespace cronkit::store {
namespace {

using sqlite::Statement;

constexpr std::string_view kTaskColumns =
    "id, name, cron_expression, timezone, type, function_name, function_payload, http_method, "
    "http_url, http_headers, http_body, catch_up, enabled, max_retries, retry_delay_seconds, "
    "timeout_seconds, overlap_policy, created_at, updated_at";

constexpr std::string_view kExecutionColumns =
    "id, task_id, status, \"trigger\", scheduled_for, queued_at, started_at, finished_at, "
    "error_message, result_summary, output, attempts, duration_ms, node_id";

template <typename T>
T must(std::optional<T> v, std::string_view what) {
  if (!v) throw StoreError("corrupt row: unknown " + std::string(what));
  return *v;
}

Task read_task(const Statement& s) {
  Task t;
  t.id = s.text(0);
  t.name = s.text(1);
  t.cron_expression = s.text(2);
  t.timezone = s.text(3);
  t.type = must(parse_task_type(s.text(4)), "task type");
  t.function_name = s.optional_text(5);
  t.function_payload = s.optional_text(6);
  t.http_method = s.optional_text(7);
  t.http_url = s.optional_text(8);
  t.http_headers = s.optional_text(9);
  t.http_body = s.optional_text(10);
  t.catch_up = s.int64(11) != 0;
  t.enabled = s.int64(12) != 0;
  t.max_retries = static_cast<int>(s.int64(13));
  t.retry_delay_seconds = static_cast<int>(s.int64(14));
  t.timeout_seconds = static_cast<int>(s.int64(15));
  t.overlap_policy = must(parse_overlap_policy(s.text(16)), "overlap policy");
  t.created_at = s.int64(17);
  t.updated_at = s.int64(18);
  return t;
}

// Binds every column of the task, in kTaskColumns order, from ?1.
void bind_task(Statement& s, const Task& t) {
  s.bind(1, std::string_view{t.id});
  s.bind(2, std::string_view{t.name});
  s.bind(3, std::string_view{t.cron_expression});
  s.bind(4, std::string_view{t.timezone});
  s.bind(5, to_string(t.type));
  s.bind(6, t.function_name);
  s.bind(7, t.function_payload);
  s.bind(8, t.http_method);
  s.bind(9, t.http_url);
  s.bind(10, t.http_headers);
  s.bind(11, t.http_body);
  s.bind(12, std::int64_t{t.catch_up});
  s.bind(13, std::int64_t{t.enabled});
  s.bind(14, std::int64_t{t.max_retries});
  s.bind(15, std::int64_t{t.retry_delay_seconds});
  s.bind(16, std::int64_t{t.timeout_seconds});
  s.bind(17, to_string(t.overlap_policy));
  s.bind(18, t.created_at);
  s.bind(19, t.updated_at);
}

Execution read_execution(const Statement& s) {
  Execution e;
  e.id = s.text(0);
  e.task_id = s.text(1);
  e.status = must(parse_execution_status(s.text(2)), "execution status");
  e.trigger = must(parse_trigger(s.text(3)), "trigger");
  e.scheduled_for = s.int64(4);
  e.queued_at = s.int64(5);
  e.started_at = s.optional_int64(6);
  e.finished_at = s.optional_int64(7);
  e.error_message = s.optional_text(8);
  e.result_summary = s.optional_text(9);
  e.output = s.optional_text(10);
  e.attempts = static_cast<int>(s.int64(11));
  e.duration_ms = s.optional_int64(12);
  e.node_id = s.optional_text(13);
  return e;
}

std::string select_tasks(std::string_view tail) {
  return "SELECT " + std::string(kTaskColumns) + " FROM scheduled_tasks " + std::string(tail);
}

std::string select_executions(std::string_view tail) {
  return "SELECT " + std::string(kExecutionColumns) + " FROM task_execution_logs " +
         std::string(tail);
}

// Pages count from 1; a page holds 1 to 1000 rows.
std::pair<std::int64_t, std::int64_t> limit_offset(int page, int page_size) {
  std::int64_t size = std::clamp(page_size, 1, 1000);
  std::int64_t offset = (std::max(page, 1) - std::int64_t{1}) * size;
  return {size, offset};
}

// Lets a query on any status but success use the index of unsuccessful executions
// (SQLite uses a partial index only when the query repeats the index's condition).
constexpr std::string_view kNotSuccess = "status <> 'success'";

// " AND status = <param>", plus the index's condition when `status` allows it.
std::string status_is(std::string_view param, ExecutionStatus status) {
  std::string sql = " AND status = " + std::string(param);
  if (status != ExecutionStatus::success) sql += " AND " + std::string(kNotSuccess);
  return sql;
}

std::int64_t count(Statement& s) {
  s.step();
  return s.int64(0);
}

MigrationReport migrate_sqlite(sqlite::Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  const auto& all = sqlite_migrations();
  const int newest = all.empty() ? 0 : all.back().version;
  MigrationReport report;
  sqlite::Transaction tx{db};  // IMMEDIATE: a second process migrating waits for us
  auto& current = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  report.version_before = static_cast<int>(count(current));
  current.reset();
  if (report.version_before > newest) {
    throw StoreError("the database has schema version " + std::to_string(report.version_before) +
                     ", newer than this cronkit knows (" + std::to_string(newest) +
                     "): run a newer cronkit");
  }
  for (const auto& m : all) {
    if (m.version <= report.version_before) continue;
    db.exec(m.sql);
    auto& record =
        db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)");
    record.bind(1, std::int64_t{m.version});
    record.bind(2, m.name);
    record.bind(3, SystemClock{}.now());
    record.run();
    report.applied.emplace_back(m.name);
  }
  tx.commit();
  report.version_after = std::max(report.version_before, newest);
  return report;
}

std::string open_path(const std::string& path) {
  if (path != ":memory:") {
    auto dir = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  }
  return path;
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path) : db_(open_path(path)) {
  if (path != ":memory:") db_.exec("PRAGMA journal_mode = WAL");
  db_.exec("PRAGMA synchronous = NORMAL");
  db_.exec("PRAGMA foreign_keys = ON");
  db_.exec("PRAGMA busy_timeout = 5000");
  // The history's indexes take most writes; keep their hot pages in memory (64 MiB).
  db_.exec("PRAGMA cache_size = -65536");
  report_ = migrate_sqlite(db_);
}

// One page of rows newest first, and the total: `where` uses ?3 and ?4 for the filters
// that `bind_filter` binds (?1 and ?2 are the limit and offset).
template <typename T, typename Read, typename Bind>
Page<T> SqliteStore::page(std::string_view select, std::string_view table, const std::string& where,
                          std::string_view order, int page_number, int page_size, Bind bind_filter,
                          Read read) {
  auto [limit, offset] = limit_offset(page_number, page_size);
  std::lock_guard lock{mutex_};
  Page<T> out{{}, 0, std::max(page_number, 1), static_cast<int>(limit)};
  auto& rows = db_.prepare(std::string(select) + " " + where + " ORDER BY " + std::string(order) +
                           " LIMIT ?1 OFFSET ?2");
  rows.bind(1, limit);
  rows.bind(2, offset);
  bind_filter(rows);
  while (rows.step())
    out.list.push_back(read(rows));
  rows.reset();
  auto& total = db_.prepare("SELECT COUNT(*) FROM " + std::string(table) + " " + where);
  bind_filter(total);
  out.total = count(total);
  total.reset();
  return out;
}

Page<Task> SqliteStore::list_tasks(const TaskFilter& filter) {
  std::string where;
  if (filter.type) where += " AND type = ?3";
  if (filter.enabled) where += " AND enabled = ?4";
  if (!where.empty()) where = "WHERE" + where.substr(4);
  return page<Task>(
      select_tasks(""), "scheduled_tasks", where, "created_at DESC, id DESC", filter.page,
      filter.page_size,
      [&](Statement& s) {
        if (filter.type) s.bind(3, to_string(*filter.type));
        if (filter.enabled) s.bind(4, std::int64_t{*filter.enabled});
      },
      read_task);
}

std::optional<Task> SqliteStore::get_task(std::string_view id) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(select_tasks("WHERE id = ?1"));
  s.bind(1, id);
  std::optional<Task> task;
  if (s.step()) task = read_task(s);
  s.reset();
  return task;
}

std::vector<Task> SqliteStore::enabled_tasks() {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(select_tasks("WHERE enabled = 1"));
  std::vector<Task> tasks;
  while (s.step())
    tasks.push_back(read_task(s));
  s.reset();
  return tasks;
}

std::vector<ScheduleSpec> SqliteStore::enabled_schedules() {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(
      "SELECT id, cron_expression, timezone, catch_up, created_at FROM scheduled_tasks "
      "WHERE enabled = 1");
  std::vector<ScheduleSpec> out;
  while (s.step()) {
    out.push_back({s.text(0), s.text(1), s.text(2), s.int64(3) != 0, s.int64(4)});
  }
  s.reset();
  return out;
}

bool SqliteStore::insert_task(const Task& task) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare("INSERT INTO scheduled_tasks (" + std::string(kTaskColumns) +
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                        "?15, ?16, ?17, ?18, ?19) ON CONFLICT (id) DO NOTHING");
  bind_task(s, task);
  return s.run() == 1;
}

bool SqliteStore::update_task(const Task& task) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(
      "UPDATE scheduled_tasks SET name = ?2, cron_expression = ?3, timezone = ?4, type = ?5, "
      "function_name = ?6, function_payload = ?7, http_method = ?8, http_url = ?9, "
      "http_headers = ?10, http_body = ?11, catch_up = ?12, enabled = ?13, max_retries = ?14, "
      "retry_delay_seconds = ?15, timeout_seconds = ?16, overlap_policy = ?17, "
      "created_at = ?18, updated_at = ?19 WHERE id = ?1");
  bind_task(s, task);
  return s.run() == 1;
}

bool SqliteStore::delete_task(std::string_view id) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare("DELETE FROM scheduled_tasks WHERE id = ?1");
  s.bind(1, id);
  return s.run() == 1;
}

Page<Execution> SqliteStore::list_executions(const ExecutionFilter& filter) {
  std::string where;
  if (filter.task_id) where += " AND task_id = ?3";
  if (filter.status) where += status_is("?4", *filter.status);
  if (!where.empty()) where = "WHERE" + where.substr(4);
  return page<Execution>(
      select_executions(""), "task_execution_logs", where, "id DESC", filter.page, filter.page_size,
      [&](Statement& s) {
        if (filter.task_id) s.bind(3, std::string_view{*filter.task_id});
        if (filter.status) s.bind(4, to_string(*filter.status));
      },
      read_execution);
}

std::vector<Execution> SqliteStore::recent_executions(std::string_view task_id, int limit) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(select_executions("WHERE task_id = ?1 ORDER BY id DESC LIMIT ?2"));
  s.bind(1, task_id);
  s.bind(2, std::int64_t{std::clamp(limit, 0, 1000)});
  std::vector<Execution> out;
  while (s.step())
    out.push_back(read_execution(s));
  s.reset();
  return out;
}

std::optional<Execution> SqliteStore::get_execution(std::string_view id) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(select_executions("WHERE id = ?1"));
  s.bind(1, id);
  std::optional<Execution> e;
  if (s.step()) e = read_execution(s);
  s.reset();
  return e;
}

std::vector<bool> SqliteStore::write_executions(std::span<const ExecutionWrite> batch) {
  static const std::string kInsert =
      "INSERT INTO task_execution_logs (" + std::string(kExecutionColumns) +
      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
      "ON CONFLICT DO NOTHING";
  static constexpr std::string_view kUpdate =
      "UPDATE task_execution_logs SET status = ?2, started_at = ?3, finished_at = ?4, "
      "error_message = ?5, result_summary = ?6, output = ?7, attempts = ?8, "
      "duration_ms = ?9, node_id = ?10 WHERE id = ?1";
  std::vector<bool> written;
  written.reserve(batch.size());
  std::lock_guard lock{mutex_};
  auto& insert = db_.prepare(kInsert);
  auto& update = db_.prepare(kUpdate);
  sqlite::Transaction tx{db_};
  // The batch outlives each statement's run, so its text is bound without copies.
  // (Multi-row INSERT ... RETURNING and UPDATE ... FROM (VALUES ...) were measured: both
  // cost more per row than these single-row statements.)
  for (const auto& w : batch) {
    const Execution& e = w.execution;
    if (w.kind == ExecutionWrite::Kind::insert) {
      // The claim: refused if this instant of the task is taken (DO NOTHING) or the task
      // is gone (the foreign key fails the statement alone, not the transaction).
      insert.reset();
      insert.bind_borrowed(1, std::string_view{e.id});
      insert.bind_borrowed(2, std::string_view{e.task_id});
      insert.bind_borrowed(3, to_string(e.status));
      insert.bind_borrowed(4, to_string(e.trigger));
      insert.bind(5, e.scheduled_for);
      insert.bind(6, e.queued_at);
      insert.bind(7, e.started_at);
      insert.bind(8, e.finished_at);
      insert.bind_borrowed(9, e.error_message);
      insert.bind_borrowed(10, e.result_summary);
      insert.bind_borrowed(11, e.output);
      insert.bind(12, std::int64_t{e.attempts});
      insert.bind(13, e.duration_ms);
      insert.bind_borrowed(14, e.node_id);
      try {
        written.push_back(insert.run() == 1);
      } catch (const sqlite::ConstraintError&) {
        written.push_back(false);  // the task was deleted meanwhile
      }
    } else {
      update.reset();
      update.bind_borrowed(1, std::string_view{e.id});
      update.bind_borrowed(2, to_string(e.status));
      update.bind(3, e.started_at);
      update.bind(4, e.finished_at);
      update.bind_borrowed(5, e.error_message);
      update.bind_borrowed(6, e.result_summary);
      update.bind_borrowed(7, e.output);
      update.bind(8, std::int64_t{e.attempts});
      update.bind(9, e.duration_ms);
      update.bind_borrowed(10, e.node_id);
      written.push_back(update.run() == 1);
    }
  }
  insert.reset();  // let go of the batch's text
  update.reset();
  tx.commit();
  return written;
}

std::vector<Execution> SqliteStore::queued_executions() {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(select_executions(
      "WHERE" + status_is("'queued'", ExecutionStatus::queued).substr(4) + " ORDER BY id"));
  std::vector<Execution> out;
  while (s.step())
    out.push_back(read_execution(s));
  s.reset();
  return out;
}

std::int64_t SqliteStore::fail_running(Millis now, std::string_view message) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(
      "UPDATE task_execution_logs SET status = 'failed', error_message = ?2, finished_at = ?1, "
      "duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE ?1 - started_at END "
      "WHERE status = 'running'");
  s.bind(1, now);
  s.bind(2, message);
  return s.run();
}

std::optional<Millis> SqliteStore::latest_scheduled_for(std::string_view task_id) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare(
      "SELECT MAX(scheduled_for) FROM task_execution_logs "
      "WHERE task_id = ?1 AND \"trigger\" <> 'manual'");
  s.bind(1, task_id);
  s.step();
  auto v = s.optional_int64(0);
  s.reset();
  return v;
}

std::int64_t SqliteStore::delete_successful_before(Millis cutoff) {
  std::lock_guard lock{mutex_};
  auto& s = db_.prepare("DELETE FROM task_execution_logs WHERE status = 'success' AND id < ?1");
  s.bind(1, std::string_view{id_floor(cutoff)});
  return s.run();
}

Stats SqliteStore::stats(Millis now) {
  const std::string since = id_floor(now - 24 * 3600 * 1000 + 1);  // queued after now - 24 h
  std::lock_guard lock{mutex_};
  Stats st;
  auto one = [&](std::string_view sql, bool with_since) {
    auto& s = db_.prepare(sql);
    if (with_since) s.bind(1, std::string_view{since});
    std::int64_t n = count(s);
    s.reset();
    return n;
  };
  st.total_tasks = one("SELECT COUNT(*) FROM scheduled_tasks", false);
  st.enabled_tasks = one("SELECT COUNT(*) FROM scheduled_tasks WHERE enabled = 1", false);
  st.last24h_executions = one("SELECT COUNT(*) FROM task_execution_logs WHERE id >= ?1", true);
  st.last24h_failures =
      one("SELECT COUNT(*) FROM task_execution_logs WHERE status IN ('failed', 'timed_out') AND " +
              std::string(kNotSuccess) + " AND id >= ?1",
          true);
  st.running = one("SELECT COUNT(*) FROM task_execution_logs WHERE" +
                       status_is("'running'", ExecutionStatus::running).substr(4),
                   false);
  st.queued = one("SELECT COUNT(*) FROM task_execution_logs WHERE" +
                      status_is("'queued'", ExecutionStatus::queued).substr(4),
                  false);
  return st;
}

bool SqliteStore::ping() {
  std::lock_guard lock{mutex_};
  try {
    auto& s = db_.prepare("SELECT 1");
    s.step();
    s.reset();
    return true;
  } catch (const StoreError&) {
    return false;
  }
}

// ---- open_store ------------------------------------------------------------------------

namespace {

std::expected<std::string, std::string> sqlite_path(std::string_view url) {
  constexpr std::string_view kScheme = "sqlite:";
  if (!url.starts_with(kScheme)) {
    return std::unexpected("unsupported database URL '" + std::string(url) +
                           "': expected sqlite:PATH or sqlite::memory:");
  }
  std::string path{url.substr(kScheme.size())};
  if (path.empty()) return std::unexpected("database URL '" + std::string(url) + "' has no path");
  return path;
}

}  // namespace

std::expected<std::unique_ptr<Store>, std::string> open_store(std::string_view url) {
  auto path = sqlite_path(url);
  if (!path) return std::unexpected(path.error());
  try {
    return std::make_unique<SqliteStore>(*path);
  } catch (const StoreError& e) {
    return std::unexpected(std::string(e.what()));
  }
}

std::expected<MigrationReport, std::string> migrate(std::string_view url) {
  auto path = sqlite_path(url);
  if (!path) return std::unexpected(path.error());
  try {
    SqliteStore store{*path};
    return store.migration_report();
  } catch (const StoreError& e) {
    return std::unexpected(std::string(e.what()));
  }
}

}  // namespace cronkit::store
