#include "store/postgres/postgres_store.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <thread>
#include <unordered_set>

#include "core/clock.h"
#include "core/ids.h"
#include "store/common.h"
#include "store/execution_window.h"
#include "store/migrations.h"

namespace cronkit::store {
namespace {

using pg::Params;

// Taken while migrating, so that servers starting together migrate one after the other.
constexpr std::string_view kMigrationLock = "SELECT pg_advisory_xact_lock(7302641553094201)";
// Idle connections kept for reuse; more are closed when returned.
constexpr std::size_t kMaxIdle = 16;
// Rows of enabled schedules read per query at start (a million tasks come in pieces).
constexpr std::int64_t kScheduleChunk = 50000;
// How many times a batch is written again after a task it names was deleted meanwhile.
constexpr int kForeignKeyRetries = 3;
constexpr std::string_view kForeignKeyViolation = "23503";
constexpr std::string_view kTaskChannel = "cronkit_tasks";
// Announces the tasks a statement changed (its CTE `t`) to the other members, on commit,
// with this member's id (parameter `member`) so that it can skip its own announcements.
std::string announce(int member) {
  return "SELECT pg_notify('" + std::string(kTaskChannel) + "', $" + std::to_string(member) +
         " || ' ' || id) FROM t";
}
// The database's clock in epoch milliseconds: members' heartbeats are compared by it alone,
// so that their own clocks may differ.
constexpr std::string_view kDbNow = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
// Reads that must agree (a page and its total) see one snapshot.
constexpr std::string_view kSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
// The total's column after an execution's (kExecutionColumns) in a page of executions.
constexpr int kCountColumn = 14;

// ---- partitions of task_execution_logs (one a month of scheduled_for, UTC) ----------------

// Taken while partitions are created or dropped, so that servers doing it at once take turns.
constexpr std::string_view kPartitionLock = "SELECT pg_advisory_xact_lock(7302641553094202)";
// Held by change_tasks(): one set of task changes at a time, across servers.
constexpr std::string_view kTaskChangesLock = "SELECT pg_advisory_xact_lock(7302641553094203)";
constexpr std::string_view kDefaultPartition = "task_execution_logs_default";
constexpr std::string_view kPartitionPrefix = "task_execution_logs_p";
// A month whose rows are in the default partition already stays there.
constexpr std::string_view kCheckViolation = "23514";
// Dropping a month waits this long for readers and writers of the table, then tries tomorrow.
constexpr std::string_view kDropLockTimeout = "SET LOCAL lock_timeout = '5s'";
constexpr std::string_view kLockNotAvailable = "55P03";

using Month = std::chrono::year_month;

Month month_of(Millis at) {
  using namespace std::chrono;
  const year_month_day day{floor<days>(sys_time<milliseconds>{milliseconds{at}})};
  return day.year() / day.month();
}

Millis month_start(Month m) {
  using namespace std::chrono;
  return duration_cast<milliseconds>(sys_days{m / 1}.time_since_epoch()).count();
}

std::string partition_name(Month m) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%04d%02u", static_cast<int>(m.year()),
                static_cast<unsigned>(m.month()));
  return std::string(kPartitionPrefix) + digits;
}

// The month a partition holds, from its name; nullopt for the default partition.
std::optional<Month> partition_month(std::string_view name) {
  if (!name.starts_with(kPartitionPrefix)) return std::nullopt;
  name.remove_prefix(kPartitionPrefix.size());
  if (name.size() != 6 || !std::ranges::all_of(name, [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const int year = std::stoi(std::string(name.substr(0, 4)));
  const unsigned month = static_cast<unsigned>(std::stoi(std::string(name.substr(4))));
  Month m{std::chrono::year{year}, std::chrono::month{month}};
  return m.ok() ? std::optional{m} : std::nullopt;
}

constexpr int kMonthsAhead = 3;  // the month of now and the two after it
constexpr Millis kDayMs = 86'400'000;

// The month partitions that exist, oldest first.
std::vector<Month> month_partitions(pg::Connection& c) {
  auto r = c.exec(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = 'task_execution_logs'::regclass");
  std::vector<Month> out;
  for (int i = 0; i < r.rows(); ++i) {
    if (auto m = partition_month(r.text(i, 0))) out.push_back(*m);
  }
  std::ranges::sort(out);
  return out;
}

bool made(pg::Connection& c, Month m) {
  const auto months = month_partitions(c);
  return std::ranges::find(months, m) != months.end();
}

// A row of a result, as common.h's mapping reads it.
struct Row {
  const pg::Result& r;
  int row;
  std::string_view text(int c) const { return r.text(row, c); }
  std::optional<std::string> optional_text(int c) const { return r.optional_text(row, c); }
  std::int64_t int64(int c) const { return r.int64(row, c); }
  std::optional<std::int64_t> optional_int64(int c) const { return r.optional_int64(row, c); }
  bool boolean(int c) const { return r.boolean(row, c); }
};

Task read_task(const pg::Result& r, int row) {
  return store::read_task(Row{r, row});
}

Execution read_execution(const pg::Result& r, int row) {
  return store::read_execution(Row{r, row});
}

// Every column of the task, in kTaskColumns order, as $1 to $23.
Params task_params(const Task& t) {
  Params p;
  task_values(t, [&](const auto& v) { p.add(v); });
  return p;
}

// Every column of the channel, in kChannelColumns order.
Params channel_params(const Channel& c) {
  Params p;
  channel_values(c, [&](const auto& v) { p.add(v); });
  return p;
}

std::vector<Execution> read_executions(const pg::Result& r) {
  std::vector<Execution> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(read_execution(r, i));
  return out;
}

MigrationReport migrate_postgres(pg::Connection& c) {
  pg::Transaction tx{c};
  c.exec(kMigrationLock);
  c.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  MigrationReport report = apply_migrations(
      postgres_migrations(),
      {.current_version =
           [&] {
             return static_cast<int>(
                 c.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").int64(0, 0));
           },
       .exec = [&](std::string_view sql) { c.exec(std::string(sql)); },
       .record =
           [&](const Migration& m) {
             c.query(
                 "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                 Params{}.add(std::int64_t{m.version}).add(m.name).add(SystemClock{}.now()));
           }});
  tx.commit();
  return report;
}

}  // namespace

// ---- connections -----------------------------------------------------------------------

class PostgresStore::Lease {
 public:
  Lease(PostgresStore& store, std::unique_ptr<pg::Connection> c)
      : store_(store), c_(std::move(c)) {}
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() {
    // A connection that broke, or was left inside a transaction, is closed; when one
    // broke, the idle ones likely did too (the server restarted).
    if (c_->lost()) store_.drop_idle();
    if (!c_->idle()) return;
    std::lock_guard lock{store_.pool_mutex_};
    if (store_.idle_.size() < kMaxIdle) store_.idle_.push_back(std::move(c_));
  }

  pg::Connection& operator*() { return *c_; }
  pg::Connection* operator->() { return c_.get(); }

 private:
  PostgresStore& store_;
  std::unique_ptr<pg::Connection> c_;
};

PostgresStore::Lease PostgresStore::connection() {
  {
    std::lock_guard lock{pool_mutex_};
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease{*this, std::move(c)};
    }
  }
  return Lease{*this, std::make_unique<pg::Connection>(url_)};
}

void PostgresStore::drop_idle() {
  std::vector<std::unique_ptr<pg::Connection>> lost;
  std::lock_guard lock{pool_mutex_};
  lost.swap(idle_);
}

template <typename Read>
auto PostgresStore::read(Read&& r) {
  for (int attempt = 1;; ++attempt) {
    try {
      auto c = connection();
      return r(*c);
    } catch (const pg::Error& e) {
      if (!e.connection_lost()) throw;
      drop_idle();
      if (attempt == 2) throw;
    }
  }
}

PostgresStore::PostgresStore(std::string url, int writers)
    : url_(std::move(url)),
      writers_(std::max(writers, 1)),
      member_id_(new_id(SystemClock{}.now())) {
  auto c = connection();
  report_ = migrate_postgres(*c);
  prepare_history(SystemClock{}.now());
}

PostgresStore::~PostgresStore() = default;

// ---- tasks -----------------------------------------------------------------------------

Page<ListedTask> PostgresStore::list_tasks(const TaskFilter& filter) {
  auto [limit, offset] = limit_offset(filter.page, filter.page_size);
  Page<ListedTask> out{{}, 0, std::max(filter.page, 1), static_cast<int>(limit)};
  // The filter's values follow the page's two in the rows' query and come first in the
  // count's.
  std::vector<std::string> values;
  auto where = [&](int first) {
    Where w;
    int n = first;
    if (filter.type) w.add("type = $" + std::to_string(n++));
    if (filter.enabled) w.add("enabled = $" + std::to_string(n++) + "::boolean");
    // ASCII letters only are folded, as in SQLite's LIKE.
    if (filter.name_contains) {
      w.add("translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') LIKE $" +
            std::to_string(n++) + " ESCAPE '\\'");
    }
    if (!filter.tags.empty()) w.add("tags @> $" + std::to_string(n++) + "::jsonb");
    return w.sql();
  };
  if (filter.type) values.emplace_back(to_string(*filter.type));
  if (filter.enabled) values.emplace_back(*filter.enabled ? "t" : "f");
  if (filter.name_contains) values.push_back(contains_pattern(*filter.name_contains));
  if (!filter.tags.empty()) values.push_back(encode_tags(filter.tags));
  Params count_params;
  Params row_params;
  row_params.add(limit).add(offset);
  for (const auto& v : values) {
    count_params.add(v);
    row_params.add(v);
  }
  const std::string count_sql = "SELECT count(*) FROM scheduled_tasks " + where(1);
  const std::string rows_sql =
      "SELECT " + std::string(kTaskColumns) + std::string(kTaskCounters) +
      ", (SELECT status FROM task_execution_logs l WHERE l.task_id = t.id ORDER BY l.id DESC "
      "LIMIT 1) FROM scheduled_tasks t " +
      where(3) + "ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2";
  auto rows = read([&](pg::Connection& c) {
    pg::Transaction snapshot{c, kSnapshot};
    out.total = c.query(count_sql, count_params).int64(0, 0);
    auto r = c.query(rows_sql, row_params);
    snapshot.commit();
    return r;
  });
  out.list.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i) {
    auto& listed = out.list.emplace_back(ListedTask{read_task(rows, i), std::nullopt});
    if (!rows.is_null(i, kTaskReadCount)) {
      listed.last_status =
          must(parse_execution_status(rows.text(i, kTaskReadCount)), "execution status");
    }
  }
  return out;
}

std::optional<Task> PostgresStore::get_task(std::string_view id) {
  static const std::string kSql = select_tasks("WHERE id = $1");
  return read([&](pg::Connection& c) -> std::optional<Task> {
    auto r = c.query(kSql, Params{}.add(id));
    if (r.rows() == 0) return std::nullopt;
    return read_task(r, 0);
  });
}

std::vector<Task> PostgresStore::get_tasks(std::span<const std::string_view> ids) {
  static const std::string kSql = select_tasks("WHERE id = ANY($1::text[])");
  pg::ArrayLiteral list;
  for (std::string_view id : ids)
    list.add(id);
  const Params params = Params{}.add(list.take());
  return read([&](pg::Connection& c) {
    auto r = c.query(kSql, params);
    std::vector<Task> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_task(r, i));
    return out;
  });
}

std::vector<Task> PostgresStore::enabled_tasks() {
  static const std::string kSql = select_tasks("WHERE enabled");
  return read([&](pg::Connection& c) {
    auto r = c.query(kSql);
    std::vector<Task> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_task(r, i));
    return out;
  });
}

std::vector<ScheduleSpec> PostgresStore::enabled_schedules() {
  static constexpr std::string_view kSql =
      "SELECT id, cron_expression, timezone, catch_up, created_at, start_at, end_at, "
      "jitter_seconds FROM scheduled_tasks WHERE enabled AND id > $1 ORDER BY id LIMIT $2";
  return read([&](pg::Connection& c) {
    std::vector<ScheduleSpec> out;
    pg::Transaction snapshot{c, kSnapshot};
    std::string after;
    for (;;) {
      auto r = c.query(kSql, Params{}.add(after).add(kScheduleChunk));
      for (int i = 0; i < r.rows(); ++i) {
        auto optional = [&](int column) {
          return r.is_null(i, column) ? std::nullopt : std::optional<Millis>{r.int64(i, column)};
        };
        out.push_back({std::string(r.text(i, 0)), std::string(r.text(i, 1)),
                       std::string(r.text(i, 2)), r.boolean(i, 3), r.int64(i, 4), optional(5),
                       optional(6), static_cast<int>(r.int64(i, 7))});
      }
      if (r.rows() < kScheduleChunk) break;
      after = out.back().id;
    }
    snapshot.commit();
    return out;
  });
}

template <typename Change>
bool PostgresStore::audited(const AuditEntry* audit, Change&& change) {
  auto c = connection();
  if (!audit) return change(*c);
  pg::Transaction tx{*c};
  if (!change(*c)) return false;
  record(*c, audit);
  tx.commit();
  return true;
}

bool PostgresStore::insert_task(const Task& task, const AuditEntry* audit) {
  static const std::string kSql =
      "WITH t AS (INSERT INTO scheduled_tasks (" + std::string(kTaskColumns) + ") VALUES (" +
      placeholders('$', kTaskColumnCount) + ") ON CONFLICT (id) DO NOTHING RETURNING id) " +
      announce(kTaskColumnCount + 1);
  return audited(audit, [&](pg::Connection& c) {
    return c.query(kSql, task_params(task).add(member_id())).rows() == 1;
  });
}

bool PostgresStore::update_task(const Task& task, const AuditEntry* audit) {
  return audited(audit, [&](pg::Connection& c) {
    return c.query(update_task_sql(), task_params(task).add(member_id())).rows() == 1;
  });
}

const std::string& PostgresStore::update_task_sql() {
  static const std::string kSql = "WITH t AS (UPDATE scheduled_tasks SET " +
                                  assignments(kTaskColumns, '$') + " WHERE id = $1 RETURNING id) " +
                                  announce(kTaskColumnCount + 1);
  return kSql;
}

bool PostgresStore::pause_task(const Task& task, const AuditEntry* audit) {
  const auto told = paused_deliveries(task, task.paused_at.value_or(0));
  if (told.empty()) return update_task(task, audit);
  auto c = connection();
  pg::Transaction tx{*c};
  if (c->query(update_task_sql(), task_params(task).add(member_id())).rows() != 1) return false;
  queue(*c, told);
  record(*c, audit);
  tx.commit();
  deliveries_queued();
  return true;
}

std::vector<Task> PostgresStore::tasks_telling(NotifyEvent event) {
  static const std::string kSql = select_tasks(numbered(kTasksTellingSelect, '$'));
  return read([&](pg::Connection& c) {
    auto r = c.query(kSql, Params{}.add(telling_pattern(event)));
    std::vector<Task> out;
    for (int i = 0; i < r.rows(); ++i) {
      Task t = read_task(r, i);
      if (tells(t, event)) out.push_back(std::move(t));
    }
    return out;
  });
}

bool PostgresStore::check_missed(const Task& task, const NotifyRule& rule, Millis now, Millis until,
                                 Millis grace_ms, const Instants& instants) {
  static const std::string kStarted = numbered(kStartedInTime, '$');
  auto c = connection();
  pg::Transaction tx{*c};
  // The rule's row is locked: another server checking the same task waits, then sees how
  // far this one checked.
  c->query(
      "INSERT INTO notification_alerts (task_id, channel_id) VALUES ($1, $2) ON CONFLICT DO "
      "NOTHING",
      Params{}.add(task.id).add(rule.channel_id));
  auto r = c->query(
      "SELECT checked_until FROM notification_alerts WHERE task_id = $1 AND channel_id = $2 FOR "
      "UPDATE",
      Params{}.add(task.id).add(rule.channel_id));
  const std::optional<Millis> checked = r.rows() == 1 ? r.optional_int64(0, 0) : std::nullopt;
  const Millis after = std::max(checked.value_or(task.updated_at), task.updated_at);
  if (until <= after) return false;
  const std::vector<Millis> due = instants(after, until);
  std::vector<Millis> started;
  if (!due.empty()) {
    auto s = c->query(kStarted, Params{}.add(task.id).add(after).add(until).add(grace_ms));
    for (int i = 0; i < s.rows(); ++i)
      started.push_back(s.int64(i, 0));
  }
  const bool queued = tell_missed(task, rule, now, due, std::move(started), [&](const Delivery& d) {
    queue(*c, {&d, 1});
  });
  c->query(
      "UPDATE notification_alerts SET checked_until = $3 WHERE task_id = $1 AND channel_id = $2",
      Params{}.add(task.id).add(rule.channel_id).add(until));
  tx.commit();
  if (queued) deliveries_queued();
  return queued;
}

void PostgresStore::queue_deliveries(std::span<const Delivery> deliveries) {
  if (deliveries.empty()) return;
  auto c = connection();
  pg::Transaction tx{*c};
  queue(*c, deliveries);
  tx.commit();
  deliveries_queued();
}

void PostgresStore::queue(pg::Connection& c, std::span<const Delivery> deliveries) {
  static const std::string kQueue = "INSERT INTO notification_deliveries (" +
                                    std::string(kDeliveryColumns) + ") VALUES (" +
                                    placeholders('$', kDeliveryColumnCount) + ")";
  for (const auto& d : deliveries) {
    Params p;
    delivery_values(d, [&](const auto& v) { p.add(v); });
    c.query(kQueue, p);
  }
}

bool PostgresStore::delete_task(std::string_view id, const AuditEntry* audit) {
  // The task's executions go with it (ON DELETE CASCADE).
  static const std::string kSql =
      "WITH t AS (DELETE FROM scheduled_tasks WHERE id = $1 RETURNING id) " + announce(2);
  return audited(audit, [&](pg::Connection& c) {
    return c.query(kSql, Params{}.add(id).add(member_id())).rows() == 1;
  });
}

void PostgresStore::change_tasks(std::span<const std::string> names,
                                 std::span<const std::string> scope, const DecideChanges& decide) {
  static const std::string kSql = select_tasks(
      "WHERE name = ANY($1::text[]) OR ($2::jsonb IS NOT NULL AND tags @> $2::jsonb) "
      "ORDER BY created_at, id");
  // Up to kRows tasks an INSERT: an apply of a thousand new tasks is ten round trips.
  constexpr std::size_t kRows = 100;
  auto insert_sql = [](std::size_t rows) {
    std::string values;
    for (std::size_t r = 0; r < rows; ++r) {
      values += r == 0 ? "(" : ", (";
      for (int c = 1; c <= kTaskColumnCount; ++c) {
        values +=
            (c == 1 ? "$" : ", $") + std::to_string(static_cast<int>(r) * kTaskColumnCount + c);
      }
      values += ")";
    }
    return "WITH t AS (INSERT INTO scheduled_tasks (" + std::string(kTaskColumns) + ") VALUES " +
           values + " RETURNING id) " + announce(static_cast<int>(rows) * kTaskColumnCount + 1);
  };
  static const std::string kInsertFull = insert_sql(kRows);
  static const std::string kDelete =
      "WITH t AS (DELETE FROM scheduled_tasks WHERE id = $1 RETURNING id) " + announce(2);
  pg::ArrayLiteral named;
  for (const std::string& name : names)
    named.add(name);
  Params params = Params{}.add(named.take());
  if (scope.empty()) {
    params.add(std::optional<std::string>{});
  } else {
    params.add(encode_tags({scope.begin(), scope.end()}));
  }
  auto c = connection();
  pg::Transaction tx{*c};
  c->exec(kTaskChangesLock);
  auto rows = c->query(kSql, params);
  std::vector<Task> current;
  current.reserve(static_cast<std::size_t>(rows.rows()));
  for (int i = 0; i < rows.rows(); ++i)
    current.push_back(read_task(rows, i));
  const TaskChanges changes = decide(std::move(current));
  if (changes.empty()) return;
  for (std::size_t at = 0; at < changes.inserts.size(); at += kRows) {
    const std::size_t n = std::min(kRows, changes.inserts.size() - at);
    Params p;
    for (std::size_t i = at; i < at + n; ++i)
      task_values(changes.inserts[i], [&](const auto& v) { p.add(v); });
    p.add(member_id());
    if (static_cast<std::size_t>(c->query(n == kRows ? kInsertFull : insert_sql(n), p).rows()) !=
        n) {
      throw StoreError("a task to insert exists already");
    }
  }
  for (const Task& t : changes.updates) {
    if (c->query(update_task_sql(), task_params(t).add(member_id())).rows() != 1) {
      throw StoreError("no task with id " + t.id);
    }
  }
  for (const std::string& id : changes.deletes) {
    if (c->query(kDelete, Params{}.add(id).add(member_id())).rows() != 1) {
      throw StoreError("no task with id " + id);
    }
  }
  record_all(*c, changes.audit);
  tx.commit();
}

// ---- notification channels -----------------------------------------------------------

std::vector<Channel> PostgresStore::list_channels() {
  static const std::string kSql = select_channels("ORDER BY created_at, id");
  return read([&](pg::Connection& c) {
    auto r = c.query(kSql);
    std::vector<Channel> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_channel(Row{r, i}));
    return out;
  });
}

std::optional<Channel> PostgresStore::get_channel(std::string_view id) {
  static const std::string kSql = select_channels("WHERE id = $1");
  return read([&](pg::Connection& c) -> std::optional<Channel> {
    auto r = c.query(kSql, Params{}.add(id));
    if (r.rows() == 0) return std::nullopt;
    return read_channel(Row{r, 0});
  });
}

bool PostgresStore::insert_channel(const Channel& channel, const AuditEntry* audit) {
  static const std::string kSql =
      "INSERT INTO notification_channels (" + std::string(kChannelColumns) + ") VALUES (" +
      placeholders('$', kChannelColumnCount) + ") ON CONFLICT (id) DO NOTHING";
  return audited(audit, [&](pg::Connection& c) {
    return c.query(kSql, channel_params(channel)).affected() == 1;
  });
}

bool PostgresStore::update_channel(const Channel& channel, const AuditEntry* audit) {
  static const std::string kSql =
      "UPDATE notification_channels SET " + assignments(kChannelColumns, '$') + " WHERE id = $1";
  return audited(audit, [&](pg::Connection& c) {
    return c.query(kSql, channel_params(channel)).affected() == 1;
  });
}

bool PostgresStore::delete_channel(std::string_view id, const AuditEntry* audit) {
  return audited(audit, [&](pg::Connection& c) {
    return c.query("DELETE FROM notification_channels WHERE id = $1", Params{}.add(id))
               .affected() == 1;
  });
}

std::vector<std::string> PostgresStore::tasks_notifying(std::string_view channel_id, int limit) {
  static const std::string kSql = [] {
    std::string sql{kTasksNotifying};
    return sql.replace(sql.find("{}"), 2, "$1");
  }();
  return read([&](pg::Connection& c) {
    auto r = c.query(kSql, Params{}.add(channel_id));
    std::vector<std::string> names;
    for (int i = 0; i < r.rows() && static_cast<int>(names.size()) < limit; ++i) {
      if (notifies_channel(r.text(i, 1), channel_id)) names.emplace_back(r.text(i, 0));
    }
    return names;
  });
}

// ---- API tokens ---------------------------------------------------------------------------

std::vector<ApiToken> PostgresStore::list_tokens() {
  static const std::string kSql = select_tokens("ORDER BY created_at, id");
  return read([&](pg::Connection& c) {
    auto r = c.query(kSql);
    std::vector<ApiToken> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_token(Row{r, i}));
    return out;
  });
}

std::optional<ApiToken> PostgresStore::find_token(std::string_view hash) {
  static const std::string kSql = select_tokens("WHERE token_hash = $1");
  return read([&](pg::Connection& c) -> std::optional<ApiToken> {
    auto r = c.query(kSql, Params{}.add(hash));
    if (r.rows() == 0) return std::nullopt;
    return read_token(Row{r, 0});
  });
}

std::optional<ApiToken> PostgresStore::get_token(std::string_view id) {
  static const std::string kSql = select_tokens("WHERE id = $1");
  return read([&](pg::Connection& c) -> std::optional<ApiToken> {
    auto r = c.query(kSql, Params{}.add(id));
    if (r.rows() == 0) return std::nullopt;
    return read_token(Row{r, 0});
  });
}

bool PostgresStore::insert_token(const ApiToken& token, const AuditEntry* audit) {
  // Any unique index refuses it: the id, the hash, or the name of a token not revoked.
  static const std::string kSql = "INSERT INTO api_tokens (" + std::string(kTokenColumns) +
                                  ") VALUES (" + placeholders('$', kTokenColumnCount) +
                                  ") ON CONFLICT DO NOTHING";
  Params p;
  token_values(token, [&](const auto& v) { p.add(v); });
  return audited(audit, [&](pg::Connection& c) { return c.query(kSql, p).affected() == 1; });
}

std::optional<ApiToken> PostgresStore::revoke_token(std::string_view id, Millis now,
                                                    const AuditEntry* audit) {
  static const std::string kSql =
      "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING " +
      std::string(kTokenColumns);
  std::optional<ApiToken> out;
  audited(audit, [&](pg::Connection& c) {
    auto r = c.query(kSql, Params{}.add(id).add(std::int64_t{now}));
    if (r.rows() == 0) return false;
    out = read_token(Row{r, 0});
    // Revoking a revoked token changes nothing, and records nothing.
    return out->revoked_at == now;
  });
  return out;
}

void PostgresStore::token_used(std::string_view id, Millis now) {
  connection()->query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                      Params{}.add(id).add(std::int64_t{now}));
}

// ---- the audit trail ---------------------------------------------------------------------

void PostgresStore::record(pg::Connection& c, const AuditEntry* entry) {
  static const std::string kSql = "INSERT INTO audit_log (" + std::string(kAuditColumns) +
                                  ") VALUES (" + placeholders('$', kAuditColumnCount) + ")";
  if (!entry) return;
  Params p;
  audit_values(*entry, [&](const auto& v) { p.add(v); });
  c.query(kSql, p);
}

void PostgresStore::record_all(pg::Connection& c, std::span<const AuditEntry> entries) {
  static const std::string kSql =
      "INSERT INTO audit_log (" + std::string(kAuditColumns) +
      ") SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], "
      "$6::text[], $7::text[], $8::json[], $9::json[])";
  if (entries.empty()) return;
  pg::ArrayLiteral cols[kAuditColumnCount];
  for (const AuditEntry& e : entries) {
    int col = 0;
    audit_values(e, [&](const auto& v) { cols[col++].add(v); });
  }
  Params p;
  for (auto& col : cols)
    p.add(col.take());
  c.query(kSql, p);
}

void PostgresStore::record(const AuditEntry& entry) {
  record(*connection(), &entry);
}

Page<AuditEntry> PostgresStore::list_audit(const AuditFilter& filter) {
  auto [limit, offset] = limit_offset(filter.page, filter.page_size);
  Page<AuditEntry> out{{}, 0, std::max(filter.page, 1), static_cast<int>(limit)};
  const AuditWhere rows_where = audit_where(filter, '$', 3);
  const AuditWhere count_where = audit_where(filter, '$', 1);
  Params row_params;
  row_params.add(limit).add(offset);
  Params count_params;
  for (const auto& v : rows_where.values) {
    std::visit(
        [&](const auto& value) {
          row_params.add(value);
          count_params.add(value);
        },
        v);
  }
  out.list = read([&](pg::Connection& c) {
    pg::Transaction snapshot{c, kSnapshot};
    auto rows = c.query("SELECT " + std::string(kAuditColumns) + " FROM audit_log " +
                            rows_where.sql + "ORDER BY id DESC LIMIT $1 OFFSET $2",
                        row_params);
    out.total =
        c.query("SELECT count(*) FROM audit_log " + count_where.sql, count_params).int64(0, 0);
    snapshot.commit();
    std::vector<AuditEntry> list;
    list.reserve(static_cast<std::size_t>(rows.rows()));
    for (int i = 0; i < rows.rows(); ++i)
      list.push_back(read_audit(Row{rows, i}));
    return list;
  });
  return out;
}

std::int64_t PostgresStore::delete_audit_before(Millis cutoff) {
  return connection()
      ->query("DELETE FROM audit_log WHERE at < $1", Params{}.add(std::int64_t{cutoff}))
      .affected();
}

// ---- notification deliveries -----------------------------------------------------------

bool PostgresStore::insert_delivery(const Delivery& delivery, const AuditEntry* audit) {
  static const std::string kSql =
      "INSERT INTO notification_deliveries (" + std::string(kDeliveryColumns) + ") VALUES (" +
      placeholders('$', kDeliveryColumnCount) + ") ON CONFLICT (id) DO NOTHING";
  Params p;
  delivery_values(delivery, [&](const auto& v) { p.add(v); });
  return audited(audit, [&](pg::Connection& c) { return c.query(kSql, p).affected() == 1; });
}

bool PostgresStore::update_delivery(const Delivery& d) {
  static constexpr std::string_view kSql =
      "UPDATE notification_deliveries SET status = $2, attempts = $3, last_status = $4, "
      "last_error = $5, finished_at = $6, next_attempt_at = $7, lease_owner = NULL, "
      "lease_until = NULL WHERE id = $1";
  return connection()
             ->query(kSql, Params{}
                               .add(d.id)
                               .add(to_string(d.status))
                               .add(std::int64_t{d.attempts})
                               .add(d.last_status)
                               .add(d.last_error)
                               .add(d.finished_at)
                               .add(d.next_attempt_at))
             .affected() == 1;
}

std::vector<Delivery> PostgresStore::lease_deliveries(std::string_view owner, Millis now,
                                                      Millis lease_until, int limit) {
  // Due and free, and not waiting for its channel's interval (a deleted channel's are
  // leased too: the sender fails them). Rows another server is leasing are passed over.
  static constexpr std::string_view kDue =
      "FROM notification_deliveries d LEFT JOIN notification_channels c ON c.id = d.channel_id "
      "WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR "
      "d.lease_until <= $1) AND (c.send_after IS NULL OR c.send_after <= $1) ";
  static const std::string kFirst = "SELECT d.id, d.channel_id, c.type " + std::string(kDue) +
                                    "ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE OF d "
                                    "SKIP LOCKED";
  static const std::string kChannel = "SELECT d.id " + std::string(kDue) +
                                      "AND d.channel_id = $3 ORDER BY d.next_attempt_at, d.id "
                                      "LIMIT $2 FOR UPDATE OF d SKIP LOCKED";
  static const std::string kLease =
      "UPDATE notification_deliveries SET lease_owner = $2, lease_until = $3 WHERE id = "
      "ANY($1::text[]) RETURNING " +
      std::string(kDeliveryColumns);
  auto c = connection();
  pg::Transaction tx{*c};
  std::vector<std::string> ids;
  std::vector<std::pair<std::string, Millis>> limited;  // channels sending a digest
  {
    auto r = c->query(kFirst, Params{}.add(now).add(std::int64_t{limit}));
    for (int i = 0; i < r.rows(); ++i) {
      const Millis interval =
          r.is_null(i, 2) ? 0 : send_interval(must(parse_channel_type(r.text(i, 2)), "type"));
      if (interval == 0) {
        ids.emplace_back(r.text(i, 0));
      } else if (std::ranges::find(limited, r.text(i, 1), &std::pair<std::string, Millis>::first) ==
                 limited.end()) {
        limited.emplace_back(r.text(i, 1), interval);
      }
    }
  }
  for (const auto& [channel, interval] : limited) {
    // The channel's row decides which server sends its next digest.
    auto held = c->query(
        "SELECT id FROM notification_channels WHERE id = $1 AND (send_after IS NULL OR "
        "send_after <= $2) FOR UPDATE SKIP LOCKED",
        Params{}.add(channel).add(now));
    if (held.rows() == 0) continue;
    auto r = c->query(kChannel, Params{}.add(now).add(std::int64_t{kMaxDigest}).add(channel));
    for (int i = 0; i < r.rows(); ++i)
      ids.emplace_back(r.text(i, 0));
    c->query("UPDATE notification_channels SET send_after = $2 WHERE id = $1",
             Params{}.add(channel).add(now + interval));
  }
  std::vector<Delivery> out;
  if (!ids.empty()) {
    pg::ArrayLiteral list;
    for (const auto& id : ids)
      list.add(id);
    auto r = c->query(kLease, Params{}.add(list.take()).add(owner).add(lease_until));
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_delivery(Row{r, i}));
  }
  tx.commit();
  std::ranges::sort(out, {}, [](const Delivery& d) {
    return std::pair{d.next_attempt_at.value_or(0), std::string_view{d.id}};
  });
  return out;
}

Page<Delivery> PostgresStore::list_deliveries(const DeliveryFilter& filter) {
  auto [limit, offset] = limit_offset(filter.page, filter.page_size);
  Page<Delivery> out{{}, 0, std::max(filter.page, 1), static_cast<int>(limit)};
  auto where = [&](int first) {
    Where w;
    int n = first;
    if (filter.channel_id) w.add("channel_id = $" + std::to_string(n++));
    if (filter.task_id) w.add("task_id = $" + std::to_string(n++));
    if (filter.status) w.add("status = $" + std::to_string(n++));
    return w.sql();
  };
  Params count_params;
  Params row_params;
  row_params.add(limit).add(offset);
  for (const auto* v : {&filter.channel_id, &filter.task_id}) {
    if (*v) {
      count_params.add(**v);
      row_params.add(**v);
    }
  }
  if (filter.status) {
    count_params.add(to_string(*filter.status));
    row_params.add(to_string(*filter.status));
  }
  out.list = read([&](pg::Connection& c) {
    pg::Transaction snapshot{c, kSnapshot};
    auto rows =
        c.query(select_deliveries(where(3) + "ORDER BY id DESC LIMIT $1 OFFSET $2"), row_params);
    out.total = c.query("SELECT count(*) FROM notification_deliveries " + where(1), count_params)
                    .int64(0, 0);
    snapshot.commit();
    std::vector<Delivery> list;
    list.reserve(static_cast<std::size_t>(rows.rows()));
    for (int i = 0; i < rows.rows(); ++i)
      list.push_back(read_delivery(Row{rows, i}));
    return list;
  });
  return out;
}

std::int64_t PostgresStore::delete_deliveries_before(Millis cutoff) {
  return connection()
      ->query(
          "DELETE FROM notification_deliveries WHERE created_at < $1 AND (status <> 'pending' OR "
          "event = 'test')",
          Params{}.add(cutoff))
      .affected();
}

// ---- executions ------------------------------------------------------------------------

Page<Execution> PostgresStore::list_executions(const ExecutionFilter& filter) {
  auto [limit, offset] = limit_offset(filter.before ? 1 : filter.page, filter.page_size);
  Page<Execution> out{{}, 0, filter.before ? 1 : std::max(filter.page, 1), static_cast<int>(limit)};
  // One statement: the page (one row more tells whether there is a next one), each row with
  // its task's name and the total, counted up to kMaxCounted + 1 (a column of every row;
  // an empty page counts apart). Without a filter, a table the statistics put at ten times
  // that is not counted: its total shows as more than kMaxCounted either way, and counting
  // cost 2 ms a page at 2 M rows.
  // The filter's conditions, numbered from `first`; the page's also take the cursor.
  auto where = [&](int first, bool listed) {
    Where w;
    int n = first;
    if (filter.task_id) w.add("task_id = $" + std::to_string(n++));
    if (filter.status) w.add(status_is("$" + std::to_string(n++), *filter.status));
    if (listed && filter.before) w.add("id < $" + std::to_string(n++));
    return w.sql();
  };
  auto count = [&](int cap, int first) {
    return "(SELECT count(*) FROM (SELECT 1 FROM task_execution_logs " + where(first, false) +
           "LIMIT $" + std::to_string(cap) + ") c)";
  };
  Params params;
  Params count_params;
  params.add(limit + 1).add(offset).add(ExecutionFilter::kMaxCounted + 1);
  count_params.add(ExecutionFilter::kMaxCounted + 1);
  if (filter.task_id) {
    params.add(*filter.task_id);
    count_params.add(*filter.task_id);
  }
  if (filter.status) {
    params.add(to_string(*filter.status));
    count_params.add(to_string(*filter.status));
  }
  if (filter.before) params.add(*filter.before);
  const bool uncounted = !filter.task_id && !filter.status && large_history();
  // Planning is most of its cost (custom plans: a generic one cannot know the LIMIT), so
  // the first page and pages by cursor are one flat query; a page by offset looks the names
  // up outside its LIMIT, else the rows it skips would be named too.
  const std::string total = uncounted ? std::string("$3::int8") : count(3, 4);
  const std::string page = where(4, true) + "ORDER BY id DESC LIMIT $1 OFFSET $2";
  const std::string sql =
      offset == 0 ? "SELECT " + std::string(kExecutionColumns) + ", " + total +
                        ", (SELECT name FROM scheduled_tasks t WHERE t.id = l.task_id) "
                        "FROM task_execution_logs l " +
                        page
                  : "SELECT p.*, " + total +
                        ", (SELECT name FROM scheduled_tasks t WHERE t.id = p.task_id) FROM (" +
                        select_executions(page) + ") p ORDER BY p.id DESC";
  std::int64_t counted = 0;
  read([&](pg::Connection& c) {
    auto r = c.query(sql, params);
    out.list = read_executions(r);
    for (int i = 0; i < r.rows(); ++i) {
      if (auto name = r.optional_text(i, kCountColumn + 1)) {
        out.task_names.emplace(out.list[static_cast<std::size_t>(i)].task_id, std::move(*name));
      }
    }
    counted = r.rows() > 0 ? r.int64(0, kCountColumn)
              : uncounted  ? ExecutionFilter::kMaxCounted + 1
                           : c.query("SELECT " + count(1, 2), count_params).int64(0, 0);
    return 0;
  });
  end_page(out, limit);
  set_total(out, counted);
  return out;
}

bool PostgresStore::large_history() {
  static constexpr auto kLargeCheck = std::chrono::seconds{10};
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{large_mutex_};
  if (now - large_checked_ < kLargeCheck) return large_;
  large_checked_ = now;
  large_ = read([](pg::Connection& c) {
    return c
        .exec("SELECT COALESCE(sum(c.reltuples) FILTER (WHERE c.reltuples > 0), 0) >= " +
              std::to_string(10 * ExecutionFilter::kMaxCounted) +
              " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
              "WHERE i.inhparent = 'task_execution_logs'::regclass")
        .boolean(0, 0);
  });
  return large_;
}

std::vector<Execution> PostgresStore::recent_executions(std::string_view task_id, int limit) {
  static const std::string kSql = select_executions("WHERE task_id = $1 ORDER BY id DESC LIMIT $2");
  return read([&](pg::Connection& c) {
    return read_executions(
        c.query(kSql, Params{}.add(task_id).add(std::int64_t{std::clamp(limit, 0, 1000)})));
  });
}

int PostgresStore::count_runs(pg::Connection& c, std::span<const ExecutionWrite> batch,
                              const std::vector<std::size_t>& inserts,
                              std::unordered_set<std::string>& inserted) {
  // Refused once the task made max_runs; the one that reaches it pauses the task and tells
  // the other members. (The right of SET reads the old values.)
  static const std::string kCount =
      "UPDATE scheduled_tasks SET run_count = run_count + 1, "
      "enabled = CASE WHEN run_count + 1 >= max_runs THEN false ELSE enabled END, "
      "paused_at = CASE WHEN enabled AND run_count + 1 >= max_runs THEN $2 ELSE paused_at END, "
      "paused_note = CASE WHEN enabled AND run_count + 1 >= max_runs THEN " +
      std::string(kMaxRunsNote) +
      " ELSE paused_note END, updated_at = CASE WHEN enabled AND run_count + 1 >= max_runs "
      "THEN $2 ELSE updated_at END "
      "WHERE id = $1 AND (max_runs IS NULL OR run_count < max_runs) "
      "RETURNING COALESCE(run_count >= max_runs AND paused_at = $2, false)";
  static constexpr std::string_view kUncount = "DELETE FROM task_execution_logs WHERE id = $1";
  static const std::string kAnnounce = "SELECT pg_notify('" + std::string(kTaskChannel) + "', $1)";
  std::vector<std::size_t> counted;
  for (std::size_t i : inserts) {
    if (batch[i].counts_run && inserted.contains(batch[i].execution.id)) counted.push_back(i);
  }
  int queued = 0;
  if (counted.empty()) return queued;
  // In task order, so that members counting runs of the same tasks lock them alike.
  std::ranges::sort(counted, {}, [&](std::size_t i) { return batch[i].execution.task_id; });
  for (std::size_t i : counted) {
    const Execution& e = batch[i].execution;
    auto r = c.query(kCount, Params{}.add(e.task_id).add(e.queued_at));
    if (r.rows() == 0) {
      c.query(kUncount, Params{}.add(e.id));  // it made its last run already: not claimed
      inserted.erase(e.id);
    } else if (r.boolean(0, 0)) {
      c.query(kAnnounce, Params{}.add(member_id() + " " + e.task_id));
      if (const auto& task = batch[i].task; task && task->max_runs) {
        // The run limit paused the task: its `paused` rules are told, in this transaction.
        Task stopped = *task;
        stopped.enabled = false;
        stopped.paused_note = max_runs_note(*task->max_runs);
        auto told = paused_deliveries(stopped, e.queued_at);
        queue(c, told);
        queued += static_cast<int>(told.size());
      }
    }
  }
  return queued;
}

int PostgresStore::consecutive_failures(std::string_view task_id, Millis since, int limit) {
  static const std::string kSql = finished_statuses_sql('$');
  return read([&](pg::Connection& c) {
    auto r = c.query(
        kSql, Params{}.add(task_id).add(since).add(std::int64_t{std::clamp(limit, 0, 1000)}));
    std::vector<std::string_view> statuses;
    for (int i = 0; i < r.rows(); ++i)
      statuses.push_back(r.text(i, 0));
    return leading_failures(statuses);
  });
}

std::optional<Execution> PostgresStore::get_execution(std::string_view id) {
  static const std::string kSql = select_executions("WHERE id = $1");
  return read([&](pg::Connection& c) -> std::optional<Execution> {
    auto r = c.query(kSql, Params{}.add(id));
    if (r.rows() == 0) return std::nullopt;
    return read_execution(r, 0);
  });
}

std::vector<bool> PostgresStore::write_executions(std::span<const ExecutionWrite> batch) {
  // Each kind is one statement over arrays, whatever the batch's size. Inserts first:
  // an update always names an execution inserted by an earlier batch.
  static const std::string kInsert =
      "INSERT INTO task_execution_logs (" + std::string(kExecutionColumns) +
      ", owner) SELECT v.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
      "$5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::text[], $10::text[], $11::text[], "
      "$12::int4[], $13::int8[], $14::text[], $15::text[]) AS v (id, task_id, status, "
      "\"trigger\", scheduled_for, queued_at, started_at, finished_at, error_message, "
      "result_summary, output, attempts, duration_ms, node_id, owner) "
      // A task deleted meanwhile takes its firings with it (the foreign key would fail the
      // whole statement); a task deleted between this check and the insert fails it, and
      // the batch is written again.
      "WHERE EXISTS (SELECT 1 FROM scheduled_tasks t WHERE t.id = v.task_id) "
      // The claim: an instant of a task that is taken already is not inserted.
      "ON CONFLICT DO NOTHING RETURNING id";
  static constexpr std::string_view kUpdate =
      "UPDATE task_execution_logs t SET status = v.status, started_at = v.started_at, "
      "finished_at = v.finished_at, error_message = v.error_message, "
      "result_summary = v.result_summary, output = v.output, attempts = v.attempts, "
      "duration_ms = v.duration_ms, node_id = v.node_id "
      "FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::text[], "
      "$7::text[], $8::int4[], $9::int8[], $10::text[], $11::text[]) AS v (id, status, "
      "started_at, finished_at, error_message, result_summary, output, attempts, duration_ms, "
      "node_id, owner) "
      // Only the owner changes an execution, and only until it is finished. The batch's
      // range of instants leaves out the other months' partitions.
      "WHERE t.id = v.id AND t.owner = v.owner AND t.status IN ('queued', 'running') "
      "AND t.scheduled_for BETWEEN $12 AND $13 "
      "RETURNING t.id";
  // After a commit whose answer was lost, the same batch comes again: an execution that
  // exists with its own id was written by us.
  static constexpr std::string_view kExisting =
      "SELECT id FROM task_execution_logs WHERE id = ANY($1::text[])";

  // Two states of one execution in a batch: the later is its state (one UPDATE ... FROM
  // would apply either).
  std::vector<std::size_t> inserts;
  std::vector<std::size_t> updates;
  for (std::size_t i : newest_states(batch)) {
    (batch[i].kind == ExecutionWrite::Kind::insert ? inserts : updates).push_back(i);
  }
  Params insert_params;
  if (!inserts.empty()) {
    const std::string me = member_id();
    pg::ArrayLiteral cols[15];
    for (std::size_t i : inserts) {
      int col = 0;
      execution_values(batch[i].execution, [&](const auto& v) { cols[col++].add(v); });
      cols[col].add(batch[i].owner.empty() ? me : batch[i].owner);
    }
    for (auto& col : cols)
      insert_params.add(col.take());
  }
  Params update_params;
  if (!updates.empty()) {
    const std::string me = member_id();
    pg::ArrayLiteral cols[11];
    for (std::size_t i : updates) {
      int col = 0;
      execution_state_values(batch[i].execution, [&](const auto& v) { cols[col++].add(v); });
      cols[col].add(batch[i].owner.empty() ? me : batch[i].owner);
    }
    for (auto& col : cols)
      update_params.add(col.take());
    const auto [first, last] = std::ranges::minmax(
        updates, {}, [&](std::size_t i) { return batch[i].execution.scheduled_for; });
    update_params.add(batch[first].execution.scheduled_for)
        .add(batch[last].execution.scheduled_for);
  }

  for (int attempt = 1;; ++attempt) {
    try {
      std::unordered_set<std::string> done;
      auto c = connection();
      pg::Transaction tx{*c};
      int queued = 0;  // deliveries the batch caused
      if (!inserts.empty()) {
        auto r = c->query(kInsert, insert_params);
        for (int i = 0; i < r.rows(); ++i)
          done.emplace(r.text(i, 0));
        queued += count_runs(*c, batch, inserts, done);
        for (std::size_t i : inserts) {
          if (batch[i].audit && done.contains(batch[i].execution.id)) {
            record(*c, batch[i].audit.get());
          }
        }
        if (done.size() < inserts.size()) {
          pg::ArrayLiteral missing;
          for (std::size_t i : inserts) {
            if (!done.contains(batch[i].execution.id)) missing.add(batch[i].execution.id);
          }
          auto existing = c->query(kExisting, Params{}.add(missing.take()));
          for (int i = 0; i < existing.rows(); ++i)
            done.emplace(existing.text(i, 0));
        }
      }
      if (!updates.empty()) {
        auto r = c->query(kUpdate, update_params);
        for (int i = 0; i < r.rows(); ++i)
          done.emplace(r.text(i, 0));
        queued += alert(*c, batch, updates, done);
      }
      tx.commit();
      if (queued > 0) deliveries_queued();
      std::vector<bool> written(batch.size(), false);
      // The same execution twice in a batch: the second insert is refused, as in SQLite.
      std::unordered_set<std::string_view> credited;
      for (std::size_t i : inserts) {
        const std::string& id = batch[i].execution.id;
        written[i] = done.contains(id) && credited.insert(id).second;
      }
      for (std::size_t i : updates)
        written[i] = done.contains(batch[i].execution.id);
      // An older state of an execution whose newer state was written in the same batch.
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].kind == ExecutionWrite::Kind::update && !written[i]) {
          written[i] = done.contains(batch[i].execution.id);
        }
      }
      return written;
    } catch (const pg::Error& e) {
      if (e.sqlstate() != kForeignKeyViolation || attempt >= kForeignKeyRetries) throw;
    }
  }
}

int PostgresStore::alert(pg::Connection& c, std::span<const ExecutionWrite> batch,
                         std::span<const std::size_t> updates,
                         const std::unordered_set<std::string>& done) {
  // Each task's alert rows are locked in task order, so that servers ending executions of
  // the same tasks at once wait for each other rather than deadlock.
  std::vector<std::size_t> ends;
  for (std::size_t i : updates) {
    const auto& w = batch[i];
    if (w.task && !w.task->notifications.empty() && done.contains(w.execution.id)) {
      ends.push_back(i);
    }
  }
  std::ranges::sort(
      ends, {}, [&](std::size_t i) -> const std::string& { return batch[i].execution.task_id; });
  int queued = 0;
  for (std::size_t i : ends) {
    queued += alert_on_end(
        batch[i],
        [&](std::string_view task, std::string_view channel) {
          c.query(
              "INSERT INTO notification_alerts (task_id, channel_id) VALUES ($1, $2) "
              "ON CONFLICT DO NOTHING",
              Params{}.add(task).add(channel));
          auto r = c.query(
              "SELECT failures, alerting, alerted_at FROM notification_alerts WHERE task_id = $1 "
              "AND channel_id = $2 FOR UPDATE",
              Params{}.add(task).add(channel));
          AlertState state;
          if (r.rows() == 1) {
            state.failures = static_cast<int>(r.int64(0, 0));
            state.alerting = r.boolean(0, 1);
            state.alerted_at = r.optional_int64(0, 2);
          }
          return state;
        },
        [&](std::string_view task, std::string_view channel, const AlertState& state) {
          c.query(
              "UPDATE notification_alerts SET failures = $3, alerting = $4, alerted_at = $5 "
              "WHERE task_id = $1 AND channel_id = $2",
              Params{}
                  .add(task)
                  .add(channel)
                  .add(std::int64_t{state.failures})
                  .add(state.alerting)
                  .add(state.alerted_at));
        },
        [&](const Delivery& d) {
          queue(c, {&d, 1});
        });
  }
  return queued;
}

std::vector<Execution> PostgresStore::queued_executions() {
  static const std::string kSql = select_executions(
      Where{}.add(status_is("'queued'", ExecutionStatus::queued)).sql() + "ORDER BY id");
  return read([&](pg::Connection& c) { return read_executions(c.query(kSql)); });
}

std::int64_t PostgresStore::fail_running(Millis now, std::string_view message) {
  auto c = connection();
  pg::Transaction tx{*c};
  c->query(
      "UPDATE task_execution_logs l SET status = 'queued', error_message = $1 "
      "FROM scheduled_tasks t WHERE l.status = 'running' AND t.id = l.task_id "
      "AND l.attempts <= t.max_retries",
      Params{}.add(message));
  const auto failed = c->query(
                           "UPDATE task_execution_logs SET status = 'failed', error_message = "
                           "$2, finished_at = $1, duration_ms = $1 - started_at "
                           "WHERE status = 'running'",
                           Params{}.add(now).add(message))
                          .affected();
  tx.commit();
  return failed;
}

std::optional<Millis> PostgresStore::latest_scheduled_for(std::string_view task_id) {
  return read([&](pg::Connection& c) {
    return c
        .query(
            "SELECT max(scheduled_for) FROM task_execution_logs "
            "WHERE task_id = $1 AND \"trigger\" <> 'manual'",
            Params{}.add(task_id))
        .optional_int64(0, 0);
  });
}

void PostgresStore::prepare_history(Millis now) {
  auto c = connection();
  const Month first = month_of(now);
  for (int ahead = 0; ahead < kMonthsAhead; ++ahead) {
    const Month m = first + std::chrono::months{ahead};
    if (static_cast<int>(m.year()) < 1970 || static_cast<int>(m.year()) > 9999) continue;
    if (made(*c, m)) continue;
    const Millis from = month_start(m);
    const Millis to = month_start(m + std::chrono::months{1});
    const std::string name = partition_name(m);
    pg::Transaction tx{*c};
    c->exec(kPartitionLock);
    if (made(*c, m)) continue;  // another server made it
    // The month's executions went to the default partition (history kept in place by the
    // migration to partitions): they stay there. Every row of an instant in the month was
    // queued after the day before it began, which the id index finds without a scan.
    const bool begun =
        c->query("SELECT EXISTS (SELECT 1 FROM ONLY " + std::string(kDefaultPartition) +
                     " WHERE id >= $1 AND scheduled_for >= $2 AND scheduled_for < $3)",
                 Params{}.add(id_floor(from - kDayMs)).add(from).add(to))
            .boolean(0, 0);
    if (begun) continue;
    // Made apart and then attached: attaching locks the parent less than PARTITION OF does
    // (readers and writers go on; the default partition is checked for the month's rows).
    c->exec("CREATE TABLE " + name +
            " (LIKE task_execution_logs INCLUDING DEFAULTS INCLUDING CONSTRAINTS)");
    try {
      c->exec("ALTER TABLE task_execution_logs ATTACH PARTITION " + name + " FOR VALUES FROM (" +
              std::to_string(from) + ") TO (" + std::to_string(to) + ")");
    } catch (const pg::Error& e) {
      if (e.sqlstate() != kCheckViolation) throw;
      continue;  // rolled back: an instant of the month is in the default partition already
    }
    tx.commit();
  }
}

std::int64_t PostgresStore::delete_successful_before(Millis cutoff) {
  std::int64_t deleted = 0;
  auto c = connection();
  // Months wholly before the cutoff are dropped; what did not succeed in them moves to the
  // default partition first (failures are kept, and an unfinished backfill goes on).
  for (const Month m : month_partitions(*c)) {
    if (month_start(m + std::chrono::months{1}) > cutoff) break;
    const std::string name = partition_name(m);
    // Counted before the lock (a month that is over changes little): a count under it
    // would hold every reader and writer of the table for a scan of the month.
    const std::int64_t successes =
        c->exec("SELECT count(*) FROM " + name + " WHERE status = 'success'").int64(0, 0);
    pg::Transaction tx{*c};
    c->exec(kPartitionLock);
    c->exec(kDropLockTimeout);
    try {
      c->exec("ALTER TABLE task_execution_logs DETACH PARTITION " + name);
    } catch (const pg::Error& e) {
      if (e.sqlstate() != kLockNotAvailable) throw;
      break;  // the table stayed busy: tried again at the next cleanup
    }
    c->exec("INSERT INTO task_execution_logs SELECT * FROM " + name + " WHERE status <> 'success'");
    c->exec("DROP TABLE " + name);
    tx.commit();
    deleted += successes;
  }
  // The default partition's rows are deleted one by one, as before partitions.
  deleted += c->query("DELETE FROM ONLY " + std::string(kDefaultPartition) +
                          " WHERE status = 'success' AND id < $1",
                      Params{}.add(id_floor(cutoff)))
                 .affected();
  return deleted;
}

Stats PostgresStore::stats(Millis now) {
  // The current second and the 86,399 before it, as the SQLite store counts them.
  static constexpr std::string_view kSql =
      "SELECT (SELECT count(*) FROM scheduled_tasks), "
      "(SELECT count(*) FROM scheduled_tasks WHERE enabled), "
      "count(*), count(*) FILTER (WHERE status IN ('failed', 'timed_out')), "
      "(SELECT count(*) FROM task_execution_logs WHERE status = 'running' "
      "AND status <> 'success'), "
      "(SELECT count(*) FROM task_execution_logs WHERE status = 'queued' "
      "AND status <> 'success') "
      "FROM task_execution_logs WHERE id >= $1 AND queued_at >= $2 AND queued_at < $3";
  const std::int64_t second = ExecutionWindow::second_of(now);
  const Millis start = (second - ExecutionWindow::kSeconds + 1) * 1000;
  auto r = read([&](pg::Connection& c) {
    return c.query(kSql, Params{}.add(id_floor(start)).add(start).add((second + 1) * Millis{1000}));
  });
  Stats st;
  st.total_tasks = r.int64(0, 0);
  st.enabled_tasks = r.int64(0, 1);
  st.last24h_executions = r.int64(0, 2);
  st.last24h_failures = r.int64(0, 3);
  st.running = r.int64(0, 4);
  st.queued = r.int64(0, 5);
  return st;
}

bool PostgresStore::ping() {
  try {
    read([](pg::Connection& c) { return c.exec("SELECT 1"); });
    return true;
  } catch (const StoreError&) {
    return false;
  }
}

}  // namespace cronkit::store

// ---- cluster ---------------------------------------------------------------------------

namespace cronkit::store {
namespace {

// Listens for announced task changes on a connection of its own, until destroyed. Made once
// it listens, so that every change committed after it was made is heard; or after
// kListenWait without the database, and then its first connection reloads everything.
class TaskWatch final : public Subscription {
 public:
  static constexpr auto kListenWait = std::chrono::seconds{5};

  TaskWatch(std::string url, std::function<std::string()> member,
            std::function<void(const std::string&)> changed)
      : url_(std::move(url)), member_(std::move(member)), changed_(std::move(changed)) {
    thread_ = std::thread([this] { run(); });
    std::unique_lock lock{mutex_};
    if (!listening_.wait_for(lock, kListenWait, [&] { return listened_; })) late_ = true;
  }
  ~TaskWatch() override {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    bool connected_before = false;
    int failures = 0;
    while (!stop_) {
      try {
        pg::Connection c{url_};
        c.exec("LISTEN " + std::string(kTaskChannel));
        bool late = false;
        {
          std::lock_guard lock{mutex_};
          listened_ = true;
          late = late_;
        }
        listening_.notify_all();
        // Whatever changed while no one listened is unknown: reload everything.
        if (connected_before || late) changed_("");
        connected_before = true;
        failures = 0;
        while (!stop_) {
          pollfd fd{c.socket(), POLLIN, 0};
          if (::poll(&fd, 1, 200) < 0 && errno != EINTR) break;
          for (const std::string& payload : c.notifications()) {
            auto space = payload.find(' ');
            if (space == std::string::npos) continue;
            if (std::string_view{payload}.substr(0, space) == member_()) continue;
            changed_(payload.substr(space + 1));
          }
        }
      } catch (const StoreError&) {
        // Lost or cannot connect: try again, backing off up to 2 s.
        connected_before = true;
        for (int i = 0; i < std::min(10, 1 << std::min(failures, 4)) && !stop_; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds{200});
        ++failures;
      }
    }
  }

  const std::string url_;
  const std::function<std::string()> member_;
  const std::function<void(const std::string&)> changed_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable listening_;
  bool listened_ = false;  // the first LISTEN is in place
  bool late_ = false;      // the constructor stopped waiting for it
  std::thread thread_;
};

}  // namespace

std::string PostgresStore::member_id() const {
  std::lock_guard lock{member_mutex_};
  return member_id_;
}

std::vector<std::string> PostgresStore::heartbeat(std::string_view node, Millis alive_ms) {
  static const std::string kBeat =
      "INSERT INTO cluster_members (member_id, node, joined_at, heartbeat_at) "
      "VALUES ($1, $2, " +
      std::string(kDbNow) + ", " + std::string(kDbNow) +
      ") ON CONFLICT (member_id) DO UPDATE SET node = EXCLUDED.node, "
      "heartbeat_at = EXCLUDED.heartbeat_at";
  static const std::string kAlive =
      "SELECT member_id FROM cluster_members WHERE heartbeat_at >= " + std::string(kDbNow) +
      " - $1 ORDER BY member_id";
  auto c = connection();
  c->query(kBeat, Params{}.add(member_id()).add(node));
  auto r = c->query(kAlive, Params{}.add(alive_ms));
  std::vector<std::string> alive;
  alive.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i)
    alive.emplace_back(r.text(i, 0));
  return alive;
}

void PostgresStore::rejoin() {
  std::string old;
  {
    std::lock_guard lock{member_mutex_};
    old = std::exchange(member_id_, new_id(SystemClock{}.now()));
  }
  // Gone at once: its rows are taken over by the next heartbeat of any member.
  connection()->query("DELETE FROM cluster_members WHERE member_id = $1", Params{}.add(old));
}

void PostgresStore::leave() {
  connection()->query("DELETE FROM cluster_members WHERE member_id = $1",
                      Params{}.add(member_id()));
}

Takeover PostgresStore::take_over(Millis dead_after_ms, Millis now, std::string_view message) {
  // Members with unfinished executions and no recent heartbeat (a left member has none).
  static const std::string kSilent =
      "SELECT DISTINCT owner FROM task_execution_logs "
      "WHERE status IN ('queued', 'running') AND owner <> $1 AND owner NOT IN ("
      "SELECT member_id FROM cluster_members WHERE heartbeat_at >= " +
      std::string(kDbNow) + " - $2)";
  // Each statement names the silent members it saw: a row that another member took over
  // meanwhile no longer matches once its lock is released (owner changed), so every row is
  // taken over once.
  static const std::string kRetry =
      "UPDATE task_execution_logs l SET status = 'queued', owner = $2, error_message = $3 "
      "FROM scheduled_tasks t WHERE l.owner = ANY($1::text[]) AND l.status = 'running' "
      "AND t.id = l.task_id AND l.attempts <= t.max_retries RETURNING " +
      [] {
        std::string cols;
        for (auto col : {"id", "task_id", "status", "\"trigger\"", "scheduled_for", "queued_at",
                         "started_at", "finished_at", "error_message", "result_summary", "output",
                         "attempts", "duration_ms", "node_id"}) {
          cols += (cols.empty() ? "l." : ", l.") + std::string(col);
        }
        return cols;
      }();
  static const std::string kFail =
      "UPDATE task_execution_logs SET status = 'failed', error_message = $3, "
      "finished_at = $2, duration_ms = $2 - started_at "
      "WHERE owner = ANY($1::text[]) AND status = 'running' RETURNING " +
      std::string(kExecutionColumns);
  static const std::string kAdopt =
      "UPDATE task_execution_logs SET owner = $2 "
      "WHERE owner = ANY($1::text[]) AND status = 'queued' RETURNING " +
      std::string(kExecutionColumns);
  static const std::string kForget =
      "DELETE FROM cluster_members WHERE heartbeat_at < " + std::string(kDbNow) + " - $1";
  const std::string me = member_id();
  Takeover out;
  auto c = connection();
  auto silent = c->query(kSilent, Params{}.add(me).add(dead_after_ms));
  if (silent.rows() == 0) {
    c->query(kForget, Params{}.add(dead_after_ms));
    return out;
  }
  pg::ArrayLiteral owners;
  for (int i = 0; i < silent.rows(); ++i)
    owners.add(silent.text(i, 0));
  const std::string list = owners.take();
  pg::Transaction tx{*c};
  out.queued = read_executions(c->query(kRetry, Params{}.add(list).add(me).add(message)));
  out.interrupted = read_executions(c->query(kFail, Params{}.add(list).add(now).add(message)));
  const int queued = alert_interrupted(*c, out.interrupted);
  auto adopted = read_executions(c->query(kAdopt, Params{}.add(list).add(me)));
  out.queued.insert(out.queued.end(), std::make_move_iterator(adopted.begin()),
                    std::make_move_iterator(adopted.end()));
  c->query(kForget, Params{}.add(dead_after_ms));
  tx.commit();
  if (queued > 0) deliveries_queued();
  std::ranges::sort(out.queued, {}, &Execution::id);
  return out;
}

int PostgresStore::alert_interrupted(pg::Connection& c, const std::vector<Execution>& failed) {
  static const std::string kRules =
      select_tasks("WHERE id = ANY($1::text[]) AND notifications IS NOT NULL");
  if (failed.empty()) return 0;
  pg::ArrayLiteral ids;
  for (const auto& e : failed)
    ids.add(e.task_id);
  auto r = c.query(kRules, Params{}.add(ids.take()));
  std::unordered_map<std::string, std::shared_ptr<const Task>> tasks;
  for (int i = 0; i < r.rows(); ++i) {
    auto t = std::make_shared<const Task>(read_task(r, i));
    tasks.emplace(t->id, std::move(t));
  }
  std::vector<ExecutionWrite> writes;
  std::vector<std::size_t> ends;
  std::unordered_set<std::string> done;
  for (const auto& e : failed) {
    auto it = tasks.find(e.task_id);
    if (it == tasks.end()) continue;
    ends.push_back(writes.size());
    writes.push_back({ExecutionWrite::Kind::update, e, {}, false, it->second});
    done.insert(e.id);
  }
  return alert(c, writes, ends, done);
}

std::vector<bool> PostgresStore::claimed(std::span<const Firing> firings) {
  static constexpr std::string_view kSql =
      "SELECT v.i FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS v (task_id, at, i) "
      "WHERE EXISTS (SELECT 1 FROM task_execution_logs l WHERE l.task_id = v.task_id "
      "AND l.scheduled_for = v.at AND l.\"trigger\" <> 'manual')";
  std::vector<bool> out(firings.size(), false);
  if (firings.empty()) return out;
  pg::ArrayLiteral ids;
  pg::ArrayLiteral instants;
  for (const Firing& f : firings) {
    ids.add(f.task_id);
    instants.add(f.scheduled_for);
  }
  const Params params = Params{}.add(ids.take()).add(instants.take());
  auto r = read([&](pg::Connection& c) { return c.query(kSql, params); });
  for (int i = 0; i < r.rows(); ++i)
    out[static_cast<std::size_t>(r.int64(i, 0) - 1)] = true;
  return out;
}

std::unique_ptr<Subscription> PostgresStore::watch_tasks(
    std::function<void(const std::string& task_id)> changed) {
  return std::make_unique<TaskWatch>(
      url_, [this] { return member_id(); }, std::move(changed));
}

}  // namespace cronkit::store
