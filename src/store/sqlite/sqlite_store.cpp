#include "store/sqlite/sqlite_store.h"

#include <algorithm>
#include <array>
#include <filesystem>

#include "core/clock.h"
#include "core/ids.h"
#include "store/common.h"
#include "store/migrations.h"

namespace cronkit::store {
namespace {

using sqlite::Statement;

// A row of a statement, as common.h's mapping reads it.
struct Row {
  const Statement& s;
  std::string_view text(int c) const { return s.text_view(c); }
  std::optional<std::string> optional_text(int c) const { return s.optional_text(c); }
  std::int64_t int64(int c) const { return s.int64(c); }
  std::optional<std::int64_t> optional_int64(int c) const { return s.optional_int64(c); }
  bool boolean(int c) const { return s.int64(c) != 0; }
};

Task read_task(const Statement& s) {
  return store::read_task(Row{s});
}

Execution read_execution(const Statement& s) {
  return store::read_execution(Row{s});
}

// Binds values from parameter `first` on, in the order given. Text is bound without a
// copy when `borrow` is set: it must then outlive the statement's run.
class Binder {
 public:
  Binder(Statement& s, int first = 1, bool borrow = false) : s_(s), next_(first), borrow_(borrow) {}
  void operator()(std::string_view v) {
    borrow_ ? s_.bind_borrowed(next_++, v) : s_.bind(next_++, v);
  }
  void operator()(const std::optional<std::string>& v) {
    borrow_ ? s_.bind_borrowed(next_++, v) : s_.bind(next_++, v);
  }
  void operator()(bool v) { s_.bind(next_++, std::int64_t{v}); }
  void operator()(std::int64_t v) { s_.bind(next_++, v); }
  void operator()(const std::optional<std::int64_t>& v) { s_.bind(next_++, v); }

 private:
  Statement& s_;
  int next_;
  bool borrow_;
};

std::int64_t count(Statement& s) {
  s.step();
  return s.int64(0);
}

MigrationReport migrate_sqlite(sqlite::Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  sqlite::Transaction tx{db};  // IMMEDIATE: a second process migrating waits for us
  MigrationReport report = apply_migrations(
      sqlite_migrations(),
      {.current_version =
           [&] {
             sqlite::Use current{
                 db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")};
             const int version = static_cast<int>(count(*current));
             return version;
           },
       .exec = [&](std::string_view sql) { db.exec(std::string(sql)); },
       .record =
           [&](const Migration& m) {
             sqlite::Use record{db.prepare(
                 "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)")};
             record->bind(1, std::int64_t{m.version});
             record->bind(2, m.name);
             record->bind(3, SystemClock{}.now());
             record->run();
           }});
  tx.commit();
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

// ---- connections -----------------------------------------------------------------------

class SqliteStore::Reader {
 public:
  Reader(SqliteStore& store, std::unique_ptr<sqlite::Database> own)
      : store_(store), own_(std::move(own)) {
    if (!own_) writer_ = std::unique_lock{store_.mutex_};
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader() {
    db().finish_statements();
    if (own_) {
      std::lock_guard lock{store_.readers_mutex_};
      store_.idle_readers_.push_back(std::move(own_));
    }
  }

  sqlite::Database& db() { return own_ ? *own_ : store_.db_; }

 private:
  SqliteStore& store_;
  std::unique_ptr<sqlite::Database> own_;
  std::unique_lock<std::mutex> writer_;  // ":memory:" has one connection
};

SqliteStore::Reader SqliteStore::reader() {
  if (path_ == ":memory:") return Reader{*this, nullptr};
  {
    std::lock_guard lock{readers_mutex_};
    if (!idle_readers_.empty()) {
      auto db = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return Reader{*this, std::move(db)};
    }
  }
  auto db = std::make_unique<sqlite::Database>(path_, sqlite::Database::Mode::read_only);
  db->exec("PRAGMA busy_timeout = 5000");
  return Reader{*this, std::move(db)};
}

SqliteStore::SqliteStore(const std::string& path, int wal_restart_pages)
    : path_(path), db_(open_path(path)) {
  // First: servers starting together take turns at the switch to WAL and the migrations.
  db_.exec("PRAGMA busy_timeout = 5000");
  if (path != ":memory:") {
    db_.exec("PRAGMA journal_mode = WAL");
    db_.bound_wal(wal_restart_pages);
    // When the log starts over, its file is cut back to this size.
    db_.exec("PRAGMA journal_size_limit = " + std::to_string(4096LL * wal_restart_pages));
  }
  db_.exec("PRAGMA synchronous = NORMAL");
  // The history's indexes take most writes; keep their hot pages in memory (64 MiB).
  db_.exec("PRAGMA cache_size = -65536");
  // Migrations run with foreign keys off (a table made again must not cascade its drop);
  // everything after with them on.
  report_ = migrate_sqlite(db_);
  db_.exec("PRAGMA foreign_keys = ON");

  std::lock_guard lock{mutex_};
  std::lock_guard tallies{tallies_mutex_};
  count_tasks_locked();
  // The window ends at the newest execution, whatever the clock says; a reader whose
  // clock is behind it has the window rebuilt (stats()).
  sqlite::Use newest{
      db_.prepare("SELECT queued_at FROM task_execution_logs ORDER BY id DESC LIMIT 1")};
  std::int64_t second = newest->step() ? ExecutionWindow::second_of(newest->int64(0)) : 0;
  newest->reset();
  rebuild_window_locked(second);
}

// ---- tallies ---------------------------------------------------------------------------

namespace {

std::size_t index_of(TaskType type) {
  return static_cast<std::size_t>(type);
}

}  // namespace

void SqliteStore::count_tasks_locked() {
  sqlite::Use s{db_.prepare("SELECT type, enabled, COUNT(*) FROM scheduled_tasks GROUP BY 1, 2")};
  for (auto& by_type : tasks_)
    by_type[0] = by_type[1] = 0;
  while (s->step()) {
    TaskType type = must(parse_task_type(s->text(0)), "task type");
    tasks_[index_of(type)][s->int64(1) != 0] = s->int64(2);
  }
}

void SqliteStore::rebuild_window_locked(std::int64_t newest_second) {
  window_.reset(newest_second);
  const Millis start = window_.start();
  sqlite::Use s{db_.prepare(
      "SELECT (queued_at - ?2) / 1000, COUNT(*), SUM(status IN ('failed', 'timed_out')) "
      "FROM task_execution_logs WHERE id >= ?1 AND queued_at >= ?2 AND queued_at < ?3 "
      "GROUP BY 1")};
  s->bind(1, std::string_view{id_floor(start)});
  s->bind(2, start);
  s->bind(3, (newest_second + 1) * 1000);
  while (s->step())
    window_.add(start + s->int64(0) * 1000, s->int64(1), s->int64(2));
}

void SqliteStore::count_executions_locked(std::span<const ExecutionWrite> batch,
                                          const std::vector<bool>& written) {
  std::lock_guard tallies{tallies_mutex_};
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!written[i]) continue;
    const Execution& e = batch[i].execution;
    const bool inserted = batch[i].kind == ExecutionWrite::Kind::insert;
    // Each execution is written in a terminal state once: a failure is counted then.
    if (inserted || is_failure(e.status)) window_.add(e.queued_at, inserted, is_failure(e.status));
  }
}

// ---- tasks -----------------------------------------------------------------------------

Page<ListedTask> SqliteStore::list_tasks(const TaskFilter& filter) {
  auto [limit, offset] = limit_offset(filter.page, filter.page_size);
  Page<ListedTask> out{{}, 0, std::max(filter.page, 1), static_cast<int>(limit)};
  const bool search = filter.name_contains || !filter.tags.empty();
  if (!search) {
    std::lock_guard tallies{tallies_mutex_};
    for (TaskType type : {TaskType::function, TaskType::http, TaskType::command}) {
      for (bool enabled : {false, true}) {
        if ((!filter.type || *filter.type == type) &&
            (!filter.enabled || *filter.enabled == enabled)) {
          out.total += tasks_[index_of(type)][enabled];
        }
      }
    }
  }
  Where conditions;
  if (filter.type) conditions.add("type = ?3");
  if (filter.enabled) conditions.add("enabled = ?4");
  std::string pattern;  // SQLite's LIKE ignores the case of ASCII letters
  if (filter.name_contains) {
    conditions.add("name LIKE ?5 ESCAPE '\\'");
    pattern = contains_pattern(*filter.name_contains);
  }
  // Every tag asked for (a JSON array) is among the task's.
  const std::string tags = filter.tags.empty() ? std::string{} : encode_tags(filter.tags);
  if (!tags.empty()) {
    conditions.add(
        "NOT EXISTS (SELECT 1 FROM json_each(?6) AS wanted WHERE wanted.value NOT IN "
        "(SELECT value FROM json_each(scheduled_tasks.tags)))");
  }
  const std::string where = conditions.sql();
  auto bind_filter = [&](Statement& s) {
    if (filter.type) s.bind(3, to_string(*filter.type));
    if (filter.enabled) s.bind(4, std::int64_t{*filter.enabled});
    if (filter.name_contains) s.bind(5, std::string_view{pattern});
    if (!tags.empty()) s.bind(6, std::string_view{tags});
  };
  // The subquery reads one entry of the index on (task_id, id) per task.
  static constexpr std::string_view kLastStatus =
      ", (SELECT status FROM task_execution_logs WHERE task_id = scheduled_tasks.id "
      "ORDER BY id DESC LIMIT 1) FROM scheduled_tasks ";
  Reader r = reader();
  // A search is counted in the same snapshot as its page; other totals are the tallies.
  std::optional<sqlite::ReadTransaction> snapshot;
  if (search) {
    snapshot.emplace(r.db());
    sqlite::Use total{r.db().prepare("SELECT COUNT(*) FROM scheduled_tasks " + where)};
    bind_filter(*total);
    out.total = count(*total);
  }
  sqlite::Use rows{r.db().prepare("SELECT " + std::string(kTaskColumns) +
                                  std::string(kTaskCounters) + std::string(kLastStatus) + where +
                                  " ORDER BY created_at DESC, id DESC LIMIT ?1 OFFSET ?2")};
  rows->bind(1, limit);
  rows->bind(2, offset);
  bind_filter(*rows);
  out.list.reserve(static_cast<std::size_t>(limit));
  while (rows->step()) {
    auto& listed = out.list.emplace_back(ListedTask{read_task(*rows), std::nullopt});
    if (!rows->is_null(kTaskReadCount)) {
      listed.last_status =
          must(parse_execution_status(rows->text_view(kTaskReadCount)), "execution status");
    }
  }
  return out;
}

std::optional<Task> SqliteStore::get_task(std::string_view id) {
  static const std::string kSql = select_tasks("WHERE id = ?1");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, id);
  std::optional<Task> task;
  if (s->step()) task = read_task(*s);
  return task;
}

std::vector<Task> SqliteStore::get_tasks(std::span<const std::string_view> given) {
  // Up to 64 ids per statement run: a claim of thousands of firings pays one reset and one
  // program start per 64 tasks instead of per task.
  static constexpr std::array<int, 4> kSizes{64, 16, 4, 1};
  static const std::array<std::string, 4> kSql = [] {
    std::array<std::string, 4> sql;
    for (std::size_t i = 0; i < kSizes.size(); ++i) {
      sql[i] = select_tasks("WHERE id IN (" + placeholders('?', kSizes[i]) + ")");
    }
    return sql;
  }();
  std::vector<std::string_view> ids(given.begin(), given.end());
  std::ranges::sort(ids);
  ids.erase(std::ranges::unique(ids).begin(), ids.end());
  std::vector<Task> tasks;
  tasks.reserve(ids.size());
  Reader r = reader();
  sqlite::ReadTransaction snapshot{r.db()};
  std::size_t next = 0;
  for (std::size_t i = 0; i < kSizes.size(); ++i) {
    const auto size = static_cast<std::size_t>(kSizes[i]);
    if (ids.size() - next < size) continue;
    sqlite::Use s{r.db().prepare(kSql[i])};
    for (; ids.size() - next >= size; next += size) {
      s->reset();
      for (std::size_t k = 0; k < size; ++k)
        s->bind_borrowed(static_cast<int>(k + 1), ids[next + k]);
      while (s->step())
        tasks.push_back(read_task(*s));
    }
  }
  return tasks;
}

std::vector<Task> SqliteStore::enabled_tasks() {
  std::lock_guard lock{mutex_};
  sqlite::Use s{db_.prepare(select_tasks("WHERE enabled = 1"))};
  std::vector<Task> tasks;
  while (s->step())
    tasks.push_back(read_task(*s));
  return tasks;
}

std::vector<ScheduleSpec> SqliteStore::enabled_schedules() {
  std::lock_guard lock{mutex_};
  sqlite::Use s{
      db_.prepare("SELECT id, cron_expression, timezone, catch_up, created_at, start_at, end_at, "
                  "jitter_seconds FROM scheduled_tasks WHERE enabled = 1")};
  std::vector<ScheduleSpec> out;
  auto optional = [&](int c) {
    return s->is_null(c) ? std::nullopt : std::optional<Millis>{s->int64(c)};
  };
  while (s->step()) {
    out.push_back({s->text(0), s->text(1), s->text(2), s->int64(3) != 0, s->int64(4), optional(5),
                   optional(6), static_cast<int>(s->int64(7))});
  }
  return out;
}

template <typename Change>
bool SqliteStore::audited(const AuditEntry* audit, Change&& change) {
  std::lock_guard lock{mutex_};
  sqlite::Transaction tx{db_};
  if (!change()) return false;
  record_locked(audit);
  tx.commit();
  return true;
}

bool SqliteStore::insert_task(const Task& task, const AuditEntry* audit) {
  std::lock_guard lock{mutex_};
  TaskTallies tallies;
  sqlite::Transaction tx{db_};
  if (!insert_task_locked(task, tallies)) return false;
  record_locked(audit);
  tx.commit();
  settle(tallies);
  return true;
}

bool SqliteStore::insert_task_locked(const Task& task, TaskTallies& tallies) {
  static const std::string kSql = "INSERT INTO scheduled_tasks (" + std::string(kTaskColumns) +
                                  ") VALUES (" + placeholders('?', kTaskColumnCount) +
                                  ") ON CONFLICT (id) DO NOTHING";
  sqlite::Use s{db_.prepare(kSql)};
  task_values(task, Binder{*s});
  if (s->run() != 1) return false;
  ++tallies.tasks[index_of(task.type)][task.enabled];
  return true;
}

bool SqliteStore::update_task(const Task& task, const AuditEntry* audit) {
  return update_task_telling(task, {}, audit);
}

bool SqliteStore::pause_task(const Task& task, const AuditEntry* audit) {
  return update_task_telling(task, paused_deliveries(task, task.paused_at.value_or(0)), audit);
}

bool SqliteStore::update_task_telling(const Task& task, std::span<const Delivery> told,
                                      const AuditEntry* audit) {
  std::lock_guard lock{mutex_};
  TaskTallies tallies;
  sqlite::Transaction tx{db_};
  if (!update_task_locked(task, tallies)) return false;
  queue_locked(told);
  record_locked(audit);
  tx.commit();
  if (!told.empty()) deliveries_queued();
  settle(tallies);
  return true;
}

bool SqliteStore::update_task_locked(const Task& task, TaskTallies& tallies) {
  static const std::string kSql =
      "UPDATE scheduled_tasks SET " + assignments(kTaskColumns, '?') + " WHERE id = ?1";
  sqlite::Use s{db_.prepare(kSql)};
  sqlite::Use before{db_.prepare("SELECT type, enabled FROM scheduled_tasks WHERE id = ?1")};
  before->bind(1, std::string_view{task.id});
  if (!before->step()) return false;
  --tallies.tasks[index_of(must(parse_task_type(before->text(0)), "task type"))]
                 [before->int64(1) != 0];
  before->reset();
  task_values(task, Binder{*s});
  s->run();
  ++tallies.tasks[index_of(task.type)][task.enabled];
  return true;
}

void SqliteStore::settle(const TaskTallies& changed) {
  std::lock_guard tallies{tallies_mutex_};
  for (std::size_t type = 0; type < 3; ++type) {
    for (std::size_t enabled = 0; enabled < 2; ++enabled)
      tasks_[type][enabled] += changed.tasks[type][enabled];
  }
  for (auto [queued_at, failed] : changed.leaving)
    window_.add(queued_at, -1, -std::int64_t{failed});
  ++version_;
}

std::vector<Task> SqliteStore::tasks_telling(NotifyEvent event) {
  static const std::string kSql = select_tasks(numbered(kTasksTellingSelect, '?'));
  const std::string pattern = telling_pattern(event);
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, std::string_view{pattern});
  std::vector<Task> out;
  while (s->step()) {
    Task t = read_task(*s);
    if (tells(t, event)) out.push_back(std::move(t));
  }
  return out;
}

bool SqliteStore::check_missed(const Task& task, const NotifyRule& rule, Millis now, Millis until,
                               Millis grace_ms, const Instants& instants) {
  static const std::string kStarted = numbered(kStartedInTime, '?');
  bool queued = false;
  {
    std::lock_guard lock{mutex_};
    sqlite::Transaction tx{db_};
    sqlite::Use read{db_.prepare(
        "SELECT checked_until FROM notification_alerts WHERE task_id = ?1 AND channel_id = ?2")};
    read->bind(1, std::string_view{task.id});
    read->bind(2, std::string_view{rule.channel_id});
    std::optional<Millis> checked;
    if (read->step() && !read->is_null(0)) checked = read->int64(0);
    read->reset();
    const Millis after = std::max(checked.value_or(task.updated_at), task.updated_at);
    if (until <= after) return false;
    const std::vector<Millis> due = instants(after, until);
    std::vector<Millis> started;
    if (!due.empty()) {
      sqlite::Use s{db_.prepare(kStarted)};
      s->bind(1, std::string_view{task.id});
      s->bind(2, after);
      s->bind(3, until);
      s->bind(4, grace_ms);
      while (s->step())
        started.push_back(s->int64(0));
    }
    queued = tell_missed(task, rule, now, due, std::move(started), [&](const Delivery& d) {
      queue_locked({&d, 1});
    });
    sqlite::Use write{db_.prepare(
        "INSERT INTO notification_alerts (task_id, channel_id, checked_until) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (task_id, channel_id) DO UPDATE SET checked_until = excluded.checked_until")};
    write->bind(1, std::string_view{task.id});
    write->bind(2, std::string_view{rule.channel_id});
    write->bind(3, until);
    write->run();
    tx.commit();
  }
  if (queued) deliveries_queued();
  return queued;
}

void SqliteStore::end_leases() {
  std::lock_guard lock{mutex_};
  db_.exec(
      "UPDATE notification_deliveries SET lease_owner = NULL, lease_until = NULL WHERE "
      "lease_owner IS NOT NULL");
}

void SqliteStore::queue_deliveries(std::span<const Delivery> deliveries) {
  if (deliveries.empty()) return;
  {
    std::lock_guard lock{mutex_};
    sqlite::Transaction tx{db_};
    queue_locked(deliveries);
    tx.commit();
  }
  deliveries_queued();
}

void SqliteStore::queue_locked(std::span<const Delivery> deliveries) {
  static const std::string kQueue = "INSERT INTO notification_deliveries (" +
                                    std::string(kDeliveryColumns) + ") VALUES (" +
                                    placeholders('?', kDeliveryColumnCount) + ")";
  if (deliveries.empty()) return;
  sqlite::Use queue{db_.prepare(kQueue)};
  for (const auto& d : deliveries) {
    queue->reset();
    delivery_values(d, Binder{*queue});
    queue->run();
  }
}

bool SqliteStore::delete_task(std::string_view id, const AuditEntry* audit) {
  std::lock_guard lock{mutex_};
  TaskTallies tallies;
  sqlite::Transaction tx{db_};
  if (!delete_task_locked(id, tallies)) return false;
  record_locked(audit);
  tx.commit();
  settle(tallies);
  return true;
}

bool SqliteStore::delete_task_locked(std::string_view id, TaskTallies& tallies) {
  // The task's executions inside the 24-hour window leave it with the task.
  Millis window_start = 0;
  {
    std::lock_guard lock{tallies_mutex_};
    window_start = window_.start();
  }
  sqlite::Use history{db_.prepare(
      "SELECT queued_at, status FROM task_execution_logs WHERE task_id = ?1 AND id >= ?2")};
  sqlite::Use s{db_.prepare("DELETE FROM scheduled_tasks WHERE id = ?1 RETURNING type, enabled")};
  history->bind(1, id);
  history->bind(2, std::string_view{id_floor(window_start)});
  std::vector<std::pair<Millis, bool>> leaving;  // queued_at, failed
  while (history->step()) {
    leaving.emplace_back(history->int64(0),
                         is_failure(must(parse_execution_status(history->text_view(1)), "status")));
  }
  history->reset();
  s->bind(1, id);
  if (!s->step()) return false;
  --tallies.tasks[index_of(must(parse_task_type(s->text(0)), "task type"))][s->int64(1) != 0];
  s->reset();  // a statement in progress would keep the commit from happening
  tallies.leaving.insert(tallies.leaving.end(), leaving.begin(), leaving.end());
  return true;
}

void SqliteStore::change_tasks(std::span<const std::string> names,
                               std::span<const std::string> scope, const DecideChanges& decide) {
  static const std::string kSql = select_tasks(
      "WHERE name IN (SELECT value FROM json_each(?1)) OR (?2 IS NOT NULL AND NOT EXISTS "
      "(SELECT 1 FROM json_each(?2) AS wanted WHERE wanted.value NOT IN "
      "(SELECT value FROM json_each(scheduled_tasks.tags)))) ORDER BY created_at, id");
  const std::string named = encode_tags({names.begin(), names.end()});
  const std::string scoped =
      scope.empty() ? std::string{} : encode_tags({scope.begin(), scope.end()});
  std::lock_guard lock{mutex_};
  sqlite::Transaction tx{db_};
  std::vector<Task> current;
  {
    sqlite::Use s{db_.prepare(kSql)};
    s->bind(1, std::string_view{named});
    if (!scoped.empty()) s->bind(2, std::string_view{scoped});
    while (s->step())
      current.push_back(read_task(*s));
  }
  const TaskChanges changes = decide(std::move(current));
  if (changes.empty()) return;
  TaskTallies tallies;
  for (const Task& t : changes.inserts) {
    if (!insert_task_locked(t, tallies)) throw StoreError("a task with id " + t.id + " exists");
  }
  for (const Task& t : changes.updates) {
    if (!update_task_locked(t, tallies)) throw StoreError("no task with id " + t.id);
  }
  for (const std::string& id : changes.deletes) {
    if (!delete_task_locked(id, tallies)) throw StoreError("no task with id " + id);
  }
  for (const AuditEntry& a : changes.audit)
    record_locked(&a);
  tx.commit();
  settle(tallies);
}

// ---- API tokens ---------------------------------------------------------------------------

std::vector<ApiToken> SqliteStore::list_tokens() {
  static const std::string kSql = select_tokens("ORDER BY created_at, id");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  std::vector<ApiToken> out;
  while (s->step())
    out.push_back(read_token(Row{*s}));
  return out;
}

std::optional<ApiToken> SqliteStore::find_token(std::string_view hash) {
  static const std::string kSql = select_tokens("WHERE token_hash = ?1");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, hash);
  std::optional<ApiToken> out;
  if (s->step()) out = read_token(Row{*s});
  return out;
}

std::optional<ApiToken> SqliteStore::get_token(std::string_view id) {
  static const std::string kSql = select_tokens("WHERE id = ?1");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, id);
  std::optional<ApiToken> out;
  if (s->step()) out = read_token(Row{*s});
  return out;
}

bool SqliteStore::insert_token(const ApiToken& token, const AuditEntry* audit) {
  // Any unique index refuses it: the id, the hash, or the name of a token not revoked.
  static const std::string kSql = "INSERT INTO api_tokens (" + std::string(kTokenColumns) +
                                  ") VALUES (" + placeholders('?', kTokenColumnCount) +
                                  ") ON CONFLICT DO NOTHING";
  return audited(audit, [&] {
    sqlite::Use s{db_.prepare(kSql)};
    token_values(token, Binder{*s});
    return s->run() == 1;
  });
}

std::optional<ApiToken> SqliteStore::revoke_token(std::string_view id, Millis now,
                                                  const AuditEntry* audit) {
  static const std::string kSql =
      "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 RETURNING " +
      std::string(kTokenColumns);
  std::lock_guard lock{mutex_};
  sqlite::Transaction tx{db_};
  std::optional<ApiToken> out;
  {
    sqlite::Use s{db_.prepare(kSql)};
    s->bind(1, id);
    s->bind(2, std::int64_t{now});
    if (s->step()) out = read_token(Row{*s});
  }
  if (!out) return out;
  // Revoking a revoked token changes nothing, and records nothing.
  if (out->revoked_at == now) record_locked(audit);
  tx.commit();
  return out;
}

void SqliteStore::token_used(std::string_view id, Millis now) {
  std::lock_guard lock{mutex_};
  sqlite::Use s{db_.prepare("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")};
  s->bind(1, id);
  s->bind(2, std::int64_t{now});
  s->run();
}

// ---- the audit trail ---------------------------------------------------------------------

void SqliteStore::record_locked(const AuditEntry* entry) {
  static const std::string kSql = "INSERT INTO audit_log (" + std::string(kAuditColumns) +
                                  ") VALUES (" + placeholders('?', kAuditColumnCount) + ")";
  if (!entry) return;
  sqlite::Use s{db_.prepare(kSql)};
  audit_values(*entry, Binder{*s});
  s->run();
}

void SqliteStore::record(const AuditEntry& entry) {
  std::lock_guard lock{mutex_};
  record_locked(&entry);
}

Page<AuditEntry> SqliteStore::list_audit(const AuditFilter& filter) {
  const AuditWhere where = audit_where(filter, '?', 3);
  auto bind_filter = [&](Statement& s) {
    int n = 3;
    for (const auto& v : where.values) {
      if (const auto* text = std::get_if<std::string>(&v)) {
        s.bind(n++, std::string_view{*text});
      } else {
        s.bind(n++, std::get<std::int64_t>(v));
      }
    }
  };
  auto [limit, offset] = limit_offset(filter.page, filter.page_size);
  Page<AuditEntry> out{{}, 0, std::max(filter.page, 1), static_cast<int>(limit)};
  Reader r = reader();
  sqlite::ReadTransaction snapshot{r.db()};  // the page and the total agree
  sqlite::Use rows{r.db().prepare("SELECT " + std::string(kAuditColumns) + " FROM audit_log " +
                                  where.sql + "ORDER BY id DESC LIMIT ?1 OFFSET ?2")};
  rows->bind(1, limit);
  rows->bind(2, offset);
  bind_filter(*rows);
  while (rows->step())
    out.list.push_back(read_audit(Row{*rows}));
  rows->reset();
  sqlite::Use total{r.db().prepare("SELECT COUNT(*) FROM audit_log " + where.sql)};
  bind_filter(*total);
  out.total = count(*total);
  return out;
}

std::int64_t SqliteStore::delete_audit_before(Millis cutoff) {
  std::lock_guard lock{mutex_};
  sqlite::Use s{db_.prepare("DELETE FROM audit_log WHERE at < ?1")};
  s->bind(1, cutoff);
  return s->run();
}

// ---- notification channels -----------------------------------------------------------

std::vector<Channel> SqliteStore::list_channels() {
  static const std::string kSql = select_channels("ORDER BY created_at, id");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  std::vector<Channel> out;
  while (s->step())
    out.push_back(read_channel(Row{*s}));
  return out;
}

std::optional<Channel> SqliteStore::get_channel(std::string_view id) {
  static const std::string kSql = select_channels("WHERE id = ?1");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, id);
  std::optional<Channel> out;
  if (s->step()) out = read_channel(Row{*s});
  return out;
}

bool SqliteStore::insert_channel(const Channel& channel, const AuditEntry* audit) {
  static const std::string kSql =
      "INSERT INTO notification_channels (" + std::string(kChannelColumns) + ") VALUES (" +
      placeholders('?', kChannelColumnCount) + ") ON CONFLICT (id) DO NOTHING";
  return audited(audit, [&] {
    sqlite::Use s{db_.prepare(kSql)};
    channel_values(channel, Binder{*s});
    return s->run() == 1;
  });
}

bool SqliteStore::update_channel(const Channel& channel, const AuditEntry* audit) {
  static const std::string kSql =
      "UPDATE notification_channels SET " + assignments(kChannelColumns, '?') + " WHERE id = ?1";
  return audited(audit, [&] {
    sqlite::Use s{db_.prepare(kSql)};
    channel_values(channel, Binder{*s});
    return s->run() == 1;
  });
}

bool SqliteStore::delete_channel(std::string_view id, const AuditEntry* audit) {
  return audited(audit, [&] {
    sqlite::Use s{db_.prepare("DELETE FROM notification_channels WHERE id = ?1")};
    s->bind(1, id);
    return s->run() == 1;
  });
}

std::vector<std::string> SqliteStore::tasks_notifying(std::string_view channel_id, int limit) {
  static const std::string kSql = [] {
    std::string sql{kTasksNotifying};
    return sql.replace(sql.find("{}"), 2, "?1");
  }();
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, channel_id);
  std::vector<std::string> names;
  while (static_cast<int>(names.size()) < limit && s->step()) {
    if (notifies_channel(s->text_view(1), channel_id)) names.emplace_back(s->text_view(0));
  }
  return names;
}

// ---- notification deliveries -----------------------------------------------------------

bool SqliteStore::insert_delivery(const Delivery& delivery, const AuditEntry* audit) {
  static const std::string kSql =
      "INSERT INTO notification_deliveries (" + std::string(kDeliveryColumns) + ") VALUES (" +
      placeholders('?', kDeliveryColumnCount) + ") ON CONFLICT (id) DO NOTHING";
  return audited(audit, [&] {
    sqlite::Use s{db_.prepare(kSql)};
    delivery_values(delivery, Binder{*s});
    return s->run() == 1;
  });
}

bool SqliteStore::update_delivery(const Delivery& delivery) {
  static const std::string kSql =
      "UPDATE notification_deliveries SET " + delivery_state_assignments('?') + " WHERE id = ?1";
  std::lock_guard lock{mutex_};
  sqlite::Use s{db_.prepare(kSql)};
  delivery_values(delivery, Binder{*s});
  return s->run() == 1;
}

std::vector<Delivery> SqliteStore::lease_deliveries(std::string_view owner, Millis now,
                                                    Millis lease_until, int limit) {
  // Due and free, and not waiting for its channel's interval (a deleted channel's are
  // leased too: the sender fails them).
  static constexpr std::string_view kDue =
      "FROM notification_deliveries d LEFT JOIN notification_channels c ON c.id = d.channel_id "
      "WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND (d.lease_until IS NULL OR "
      "d.lease_until <= ?1) AND (c.send_after IS NULL OR c.send_after <= ?1) ";
  static const std::string kFirst = "SELECT d.id, d.channel_id, c.type " + std::string(kDue) +
                                    "ORDER BY d.next_attempt_at, d.id LIMIT ?2";
  static const std::string kChannel = "SELECT d.id " + std::string(kDue) +
                                      "AND d.channel_id = ?3 ORDER BY d.next_attempt_at, d.id "
                                      "LIMIT ?2";
  std::lock_guard lock{mutex_};
  sqlite::Transaction tx{db_};
  std::vector<std::string> ids;
  std::vector<std::pair<std::string, Millis>> limited;  // channels sending a digest
  {
    sqlite::Use first{db_.prepare(kFirst)};
    first->bind(1, now);
    first->bind(2, std::int64_t{limit});
    while (first->step()) {
      const Millis interval =
          first->is_null(2) ? 0 : send_interval(must(parse_channel_type(first->text(2)), "type"));
      if (interval == 0) {
        ids.emplace_back(first->text(0));
      } else if (std::ranges::find(limited, first->text(1),
                                   &std::pair<std::string, Millis>::first) == limited.end()) {
        limited.emplace_back(first->text(1), interval);
      }
    }
  }
  sqlite::Use digest{db_.prepare(kChannel)};
  sqlite::Use hold{db_.prepare("UPDATE notification_channels SET send_after = ?2 WHERE id = ?1")};
  for (const auto& [channel, interval] : limited) {
    digest->reset();
    digest->bind(1, now);
    digest->bind(2, std::int64_t{kMaxDigest});
    digest->bind(3, std::string_view{channel});
    while (digest->step())
      ids.emplace_back(digest->text(0));
    hold->reset();
    hold->bind(1, std::string_view{channel});
    hold->bind(2, now + interval);
    hold->run();
  }
  sqlite::Use lease{db_.prepare(
      "UPDATE notification_deliveries SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1")};
  static const std::string kRead = select_deliveries("WHERE id = ?1");
  sqlite::Use read{db_.prepare(kRead)};
  std::vector<Delivery> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    lease->reset();
    lease->bind(1, std::string_view{id});
    lease->bind(2, owner);
    lease->bind(3, lease_until);
    lease->run();
    read->reset();
    read->bind(1, std::string_view{id});
    if (read->step()) out.push_back(read_delivery(Row{*read}));
  }
  tx.commit();
  return out;
}

Page<Delivery> SqliteStore::list_deliveries(const DeliveryFilter& filter) {
  Where conditions;
  if (filter.channel_id) conditions.add("channel_id = ?3");
  if (filter.task_id) conditions.add("task_id = ?4");
  if (filter.status) conditions.add("status = ?5");
  const std::string where = conditions.sql();
  auto bind_filter = [&](Statement& s) {
    if (filter.channel_id) s.bind(3, std::string_view{*filter.channel_id});
    if (filter.task_id) s.bind(4, std::string_view{*filter.task_id});
    if (filter.status) s.bind(5, to_string(*filter.status));
  };
  auto [limit, offset] = limit_offset(filter.page, filter.page_size);
  Page<Delivery> out{{}, 0, std::max(filter.page, 1), static_cast<int>(limit)};
  Reader r = reader();
  sqlite::ReadTransaction snapshot{r.db()};  // the page and the total agree
  sqlite::Use rows{
      r.db().prepare(select_deliveries(where + " ORDER BY id DESC LIMIT ?1 OFFSET ?2"))};
  rows->bind(1, limit);
  rows->bind(2, offset);
  bind_filter(*rows);
  while (rows->step())
    out.list.push_back(read_delivery(Row{*rows}));
  rows->reset();
  sqlite::Use total{r.db().prepare("SELECT COUNT(*) FROM notification_deliveries " + where)};
  bind_filter(*total);
  out.total = count(*total);
  return out;
}

std::int64_t SqliteStore::delete_deliveries_before(Millis cutoff) {
  std::lock_guard lock{mutex_};
  sqlite::Use s{
      db_.prepare("DELETE FROM notification_deliveries WHERE created_at < ?1 AND (status <> "
                  "'pending' OR event = 'test')")};
  s->bind(1, cutoff);
  return s->run();
}

// ---- executions ------------------------------------------------------------------------

Page<Execution> SqliteStore::list_executions(const ExecutionFilter& filter) {
  Where conditions;
  if (filter.task_id) conditions.add("task_id = ?3");
  if (filter.status) conditions.add(status_is("?4", *filter.status));
  const std::string counted = conditions.sql();
  if (filter.before) conditions.add("id < ?5");
  const std::string listed = conditions.sql();
  auto bind_filter = [&](Statement& s, bool listing) {
    if (filter.task_id) s.bind(3, std::string_view{*filter.task_id});
    if (filter.status) s.bind(4, to_string(*filter.status));
    if (listing && filter.before) s.bind(5, std::string_view{*filter.before});
  };
  auto [limit, offset] = limit_offset(filter.before ? 1 : filter.page, filter.page_size);
  Page<Execution> out{{}, 0, filter.before ? 1 : std::max(filter.page, 1), static_cast<int>(limit)};
  Reader r = reader();
  sqlite::ReadTransaction snapshot{r.db()};  // the page and the total agree
  sqlite::Use rows{
      r.db().prepare(select_executions(listed + " ORDER BY id DESC LIMIT ?1 OFFSET ?2"))};
  rows->bind(1, limit + 1);  // one more tells whether there is a next page
  rows->bind(2, offset);
  bind_filter(*rows, true);
  while (rows->step())
    out.list.push_back(read_execution(*rows));
  rows->reset();
  end_page(out, limit);
  sqlite::Use total{r.db().prepare("SELECT COUNT(*) FROM (SELECT 1 FROM task_execution_logs " +
                                   counted + " LIMIT ?1)")};
  total->bind(1, ExecutionFilter::kMaxCounted + 1);
  bind_filter(*total, false);
  set_total(out, count(*total));
  sqlite::Use name{r.db().prepare("SELECT name FROM scheduled_tasks WHERE id = ?1")};
  for (const Execution& e : out.list) {
    if (out.task_names.contains(e.task_id)) continue;
    name->reset();
    name->bind(1, std::string_view{e.task_id});
    if (name->step()) out.task_names.emplace(e.task_id, name->text(0));
  }
  return out;
}

std::vector<Execution> SqliteStore::recent_executions(std::string_view task_id, int limit) {
  static const std::string kSql = select_executions("WHERE task_id = ?1 ORDER BY id DESC LIMIT ?2");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, task_id);
  s->bind(2, std::int64_t{std::clamp(limit, 0, 1000)});
  std::vector<Execution> out;
  while (s->step())
    out.push_back(read_execution(*s));
  return out;
}

std::optional<Execution> SqliteStore::get_execution(std::string_view id) {
  static const std::string kSql = select_executions("WHERE id = ?1");
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, id);
  std::optional<Execution> e;
  if (s->step()) e = read_execution(*s);
  return e;
}

std::vector<bool> SqliteStore::write_executions(std::span<const ExecutionWrite> batch) {
  static const std::string kInsert = "INSERT INTO task_execution_logs (" +
                                     std::string(kExecutionColumns) + ") VALUES (" +
                                     placeholders('?', 14) + ") ON CONFLICT DO NOTHING";
  static const std::string kUpdate =
      "UPDATE task_execution_logs SET " +
      assignments("id, " + std::string(kExecutionStateColumns), '?') +
      " WHERE id = ?1 AND (status = 'queued' OR status = 'running')";
  std::vector<bool> written;
  written.reserve(batch.size());
  std::lock_guard lock{mutex_};
  sqlite::Use insert{db_.prepare(kInsert)};
  sqlite::Use update{db_.prepare(kUpdate)};
  std::vector<TaskType> paused;  // tasks the run limit paused, for the tallies
  int queued = 0;                // deliveries the executions' ends caused
  sqlite::Transaction tx{db_};
  // The batch outlives each statement's run, so its text is bound without copies.
  // (Multi-row INSERT ... RETURNING and UPDATE ... FROM (VALUES ...) were measured: both
  // cost more per row than these single-row statements.)
  for (const auto& w : batch) {
    const Execution& e = w.execution;
    if (w.kind == ExecutionWrite::Kind::insert) {
      // The claim: refused if this instant of the task is taken (DO NOTHING) or the task
      // is gone (the foreign key fails the statement alone, not the transaction).
      insert->reset();
      execution_values(e, Binder{*insert, 1, true});
      bool inserted = false;
      try {
        inserted = insert->run() == 1;
      } catch (const sqlite::ConstraintError&) {
        // the task was deleted meanwhile
      }
      if (inserted && w.counts_run) {
        const std::size_t before = paused.size();
        inserted = count_run_locked(e, paused);
        if (paused.size() > before && w.task && w.task->max_runs) {
          // The run limit paused the task: its `paused` rules are told, in this transaction.
          Task stopped = *w.task;
          stopped.enabled = false;
          stopped.paused_note = max_runs_note(*w.task->max_runs);
          auto told = paused_deliveries(stopped, e.queued_at);
          queue_locked(told);
          queued += static_cast<int>(told.size());
        }
      }
      if (inserted && w.audit) record_locked(w.audit.get());
      written.push_back(inserted);
    } else {
      update->reset();
      execution_state_values(e, Binder{*update, 1, true});
      const bool updated = update->run() == 1;
      written.push_back(updated);
      if (updated && w.task && !w.task->notifications.empty()) queued += alert_locked(w);
    }
  }
  tx.commit();
  if (queued > 0) deliveries_queued();
  if (!paused.empty()) {
    std::lock_guard tallies{tallies_mutex_};
    for (TaskType type : paused) {
      --tasks_[index_of(type)][true];
      ++tasks_[index_of(type)][false];
    }
  }
  count_executions_locked(batch, written);
  if (std::ranges::find(written, true) != written.end()) ++version_;
  return written;
}

int SqliteStore::alert_locked(const ExecutionWrite& w) {
  sqlite::Use read{db_.prepare(
      "SELECT failures, alerting, alerted_at FROM notification_alerts WHERE task_id = ?1 AND "
      "channel_id = ?2")};
  sqlite::Use write{db_.prepare(
      "INSERT INTO notification_alerts (task_id, channel_id, failures, alerting, alerted_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (task_id, channel_id) DO UPDATE SET failures = "
      "excluded.failures, alerting = excluded.alerting, alerted_at = excluded.alerted_at")};
  return alert_on_end(
      w,
      [&](std::string_view task, std::string_view channel) {
        read->reset();
        read->bind(1, task);
        read->bind(2, channel);
        AlertState state;
        if (read->step()) {
          state.failures = static_cast<int>(read->int64(0));
          state.alerting = read->int64(1) != 0;
          if (!read->is_null(2)) state.alerted_at = read->int64(2);
        }
        return state;
      },
      [&](std::string_view task, std::string_view channel, const AlertState& state) {
        write->reset();
        write->bind(1, task);
        write->bind(2, channel);
        write->bind(3, std::int64_t{state.failures});
        write->bind(4, std::int64_t{state.alerting ? 1 : 0});
        write->bind(5, state.alerted_at);
        write->run();
      },
      [&](const Delivery& d) {
        queue_locked({&d, 1});
      });
}

bool SqliteStore::count_run_locked(const Execution& e, std::vector<TaskType>& paused) {
  // Refused once the task made max_runs; the one that reaches it pauses the task. (The
  // right of SET reads the old values.)
  static const std::string kCount =
      "UPDATE scheduled_tasks SET run_count = run_count + 1, "
      "enabled = CASE WHEN run_count + 1 >= max_runs THEN 0 ELSE enabled END, "
      "paused_at = CASE WHEN enabled = 1 AND run_count + 1 >= max_runs THEN ?2 ELSE paused_at "
      "END, paused_note = CASE WHEN enabled = 1 AND run_count + 1 >= max_runs THEN " +
      std::string(kMaxRunsNote) +
      " ELSE paused_note END, updated_at = CASE WHEN enabled = 1 AND run_count + 1 >= max_runs "
      "THEN ?2 ELSE updated_at END "
      "WHERE id = ?1 AND (max_runs IS NULL OR run_count < max_runs) RETURNING type, enabled";
  sqlite::Use before{db_.prepare("SELECT enabled FROM scheduled_tasks WHERE id = ?1")};
  before->bind(1, std::string_view{e.task_id});
  const bool was_enabled = before->step() && before->int64(0) != 0;
  sqlite::Use count{db_.prepare(kCount)};
  count->bind(1, std::string_view{e.task_id});
  count->bind(2, e.queued_at);
  if (count->step()) {
    if (was_enabled && count->int64(1) == 0) {
      paused.push_back(must(parse_task_type(count->text(0)), "task type"));
    }
    return true;
  }
  // The task made its last run already: the firing is not claimed.
  sqlite::Use uncount{db_.prepare("DELETE FROM task_execution_logs WHERE id = ?1")};
  uncount->bind(1, std::string_view{e.id});
  uncount->run();
  return false;
}

std::vector<Execution> SqliteStore::queued_executions() {
  std::lock_guard lock{mutex_};
  sqlite::Use s{db_.prepare(select_executions(
      Where{}.add(status_is("'queued'", ExecutionStatus::queued)).sql() + "ORDER BY id"))};
  std::vector<Execution> out;
  while (s->step())
    out.push_back(read_execution(*s));
  return out;
}

std::int64_t SqliteStore::fail_running(Millis now, std::string_view message) {
  static constexpr std::string_view kRetry =
      "UPDATE task_execution_logs SET status = 'queued', error_message = ?1 "
      "WHERE status = 'running' AND attempts <= "
      "(SELECT max_retries FROM scheduled_tasks t WHERE t.id = task_execution_logs.task_id)";
  static const std::string kFail =
      "UPDATE task_execution_logs SET status = 'failed', error_message = ?2, finished_at = ?1, "
      "duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE ?1 - started_at END "
      "WHERE status = 'running' RETURNING " +
      std::string(kExecutionColumns);
  static const std::string kRules = select_tasks("WHERE id = ?1 AND notifications IS NOT NULL");
  std::vector<Execution> failed;
  int queued = 0;
  {
    std::lock_guard lock{mutex_};
    sqlite::Transaction tx{db_};
    {
      sqlite::Use s{db_.prepare(kRetry)};
      s->bind(1, message);
      s->step();
    }
    {
      sqlite::Use s{db_.prepare(kFail)};
      s->bind(1, now);
      s->bind(2, message);
      while (s->step())
        failed.push_back(read_execution(*s));
    }
    // Each failure is told to its task's rules, in this transaction.
    sqlite::Use rules{db_.prepare(kRules)};
    for (const auto& e : failed) {
      rules->reset();
      rules->bind(1, std::string_view{e.task_id});
      if (!rules->step()) continue;
      ExecutionWrite w{ExecutionWrite::Kind::update, e};
      w.task = std::make_shared<const Task>(read_task(*rules));
      queued += alert_locked(w);
    }
    tx.commit();
    std::lock_guard tallies{tallies_mutex_};
    for (const auto& e : failed)
      window_.add(e.queued_at, 0, 1);
    if (!failed.empty()) ++version_;
  }
  if (queued > 0) deliveries_queued();
  return static_cast<std::int64_t>(failed.size());
}

int SqliteStore::consecutive_failures(std::string_view task_id, Millis since, int limit) {
  static const std::string kSql = finished_statuses_sql('?');
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->bind(1, task_id);
  s->bind(2, since);
  s->bind(3, std::int64_t{std::clamp(limit, 0, 1000)});
  std::vector<std::string> statuses;
  while (s->step())
    statuses.push_back(s->text(0));
  return leading_failures(statuses);
}

std::optional<Millis> SqliteStore::latest_scheduled_for(std::string_view task_id) {
  std::lock_guard lock{mutex_};
  sqlite::Use s{
      db_.prepare("SELECT MAX(scheduled_for) FROM task_execution_logs "
                  "WHERE task_id = ?1 AND \"trigger\" <> 'manual'")};
  s->bind(1, task_id);
  s->step();
  auto v = s->optional_int64(0);
  return v;
}

std::int64_t SqliteStore::delete_successful_before(Millis cutoff) {
  std::lock_guard lock{mutex_};
  Millis window_start = 0;
  {
    std::lock_guard tallies{tallies_mutex_};
    window_start = window_.start();
  }
  // Successes inside the 24-hour window (a retention of 0 days) leave it too.
  std::vector<Millis> leaving;
  sqlite::Use s{
      db_.prepare("DELETE FROM task_execution_logs WHERE status = 'success' AND id < ?1")};
  sqlite::Transaction tx{db_};
  if (cutoff > window_start) {
    sqlite::Use inside{
        db_.prepare("SELECT queued_at FROM task_execution_logs "
                    "WHERE status = 'success' AND id >= ?1 AND id < ?2")};
    inside->bind(1, std::string_view{id_floor(window_start)});
    inside->bind(2, std::string_view{id_floor(cutoff)});
    while (inside->step())
      leaving.push_back(inside->int64(0));
  }
  s->bind(1, std::string_view{id_floor(cutoff)});
  const std::int64_t deleted = s->run();
  tx.commit();
  std::lock_guard tallies{tallies_mutex_};
  for (Millis queued_at : leaving)
    window_.add(queued_at, -1, 0);
  if (deleted > 0) ++version_;
  return deleted;
}

Stats SqliteStore::stats(Millis now) {
  Stats st;
  {
    std::unique_lock tallies{tallies_mutex_};
    if (!window_.advance(now)) {
      // The clock went back: recount the window for `now`, with no commit in between.
      tallies.unlock();
      std::lock_guard writer{mutex_};
      tallies.lock();
      if (!window_.advance(now)) rebuild_window_locked(ExecutionWindow::second_of(now));
    }
    for (const auto& by_type : tasks_) {
      st.total_tasks += by_type[0] + by_type[1];
      st.enabled_tasks += by_type[1];
    }
    st.last24h_executions = window_.counts().executions;
    st.last24h_failures = window_.counts().failures;
  }
  // Few rows are running or queued at a time: both counts read a short range of the
  // index of unsuccessful executions.
  static const std::string kSql =
      "SELECT (SELECT COUNT(*) FROM task_execution_logs " +
      Where{}.add(status_is("'running'", ExecutionStatus::running)).sql() +
      "), (SELECT COUNT(*) FROM task_execution_logs " +
      Where{}.add(status_is("'queued'", ExecutionStatus::queued)).sql() + ")";
  Reader r = reader();
  sqlite::Use s{r.db().prepare(kSql)};
  s->step();
  st.running = s->int64(0);
  st.queued = s->int64(1);
  return st;
}

bool SqliteStore::ping() {
  try {
    Reader r = reader();
    sqlite::Use s{r.db().prepare("SELECT 1")};
    s->step();
    return true;
  } catch (const StoreError&) {
    return false;
  }
}

}  // namespace cronkit::store
