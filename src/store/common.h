#pragma once

// What both stores share: the column lists of the seed's tables and the mapping of rows to
// records (whatever the driver: a row adapter reads, a sink binds), a small WHERE builder,
// paging, row checks and the migration runner. What differs stays in each store.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/access.h"
#include "core/alerts.h"
#include "core/channel.h"
#include "core/ids.h"
#include "core/store.h"
#include "store/migrations.h"

namespace cronkit::store {

inline constexpr std::string_view kTaskColumns =
    "id, name, cron_expression, timezone, type, function_name, function_payload, http_method, "
    "http_url, http_headers, http_body, catch_up, enabled, max_retries, retry_delay_seconds, "
    "timeout_seconds, overlap_policy, created_at, updated_at, command, working_directory, "
    "environment, command_input, retry_backoff, retry_max_delay_seconds, paused_note, paused_at, "
    "start_at, end_at, jitter_seconds, max_runs, pause_after_failures, catch_up_policy, "
    "catch_up_window_seconds, notifications, tags";

/// How many columns kTaskColumns names.
inline constexpr int kTaskColumnCount = 36;

/// Read after kTaskColumns, never written by an insert or update of the task: the claims
/// count it (see Store::write_executions).
inline constexpr std::string_view kTaskCounters = ", run_count";
inline constexpr int kTaskReadCount = kTaskColumnCount + 1;

/// The note of a task paused by its run limit (SQL, both dialects).
inline constexpr std::string_view kMaxRunsNote =
    "'paused by cronkit: made its ' || max_runs || ' runs (maxRuns)'";

inline constexpr std::string_view kExecutionColumns =
    "id, task_id, status, \"trigger\", scheduled_for, queued_at, started_at, finished_at, "
    "error_message, result_summary, output, attempts, duration_ms, node_id";

/// A value read from a row that must be one of a known set.
template <typename T>
T must(std::optional<T> v, std::string_view what) {
  if (!v) throw StoreError("corrupt row: unknown " + std::string(what));
  return *v;
}

// A row adapter reads column c of the current row: text(c), optional_text(c), int64(c),
// optional_int64(c), boolean(c). A sink takes the next parameter: a std::string_view, a
// const std::optional<std::string>&, a bool, a std::int64_t or a
// const std::optional<std::int64_t>&.

/// A task from a row whose columns are kTaskColumns, then kTaskCounters.
template <typename Row>
Task read_task(const Row& r) {
  Task t;
  t.id = std::string(r.text(0));
  t.name = std::string(r.text(1));
  t.cron_expression = std::string(r.text(2));
  t.timezone = std::string(r.text(3));
  t.type = must(parse_task_type(r.text(4)), "task type");
  t.function_name = r.optional_text(5);
  t.function_payload = r.optional_text(6);
  t.http_method = r.optional_text(7);
  t.http_url = r.optional_text(8);
  t.http_headers = r.optional_text(9);
  t.http_body = r.optional_text(10);
  // (Column 11, catch_up, is written for the first schema's readers: catch_up_policy rules.)
  t.enabled = r.boolean(12);
  t.max_retries = static_cast<int>(r.int64(13));
  t.retry_delay_seconds = static_cast<int>(r.int64(14));
  t.timeout_seconds = static_cast<int>(r.int64(15));
  t.overlap_policy = must(parse_overlap_policy(r.text(16)), "overlap policy");
  t.created_at = r.int64(17);
  t.updated_at = r.int64(18);
  t.command = r.optional_text(19);
  t.working_directory = r.optional_text(20);
  t.environment = r.optional_text(21);
  t.command_input = r.optional_text(22);
  t.retry_backoff = must(parse_retry_backoff(r.text(23)), "retry backoff");
  t.retry_max_delay_seconds = static_cast<int>(r.int64(24));
  t.paused_note = r.optional_text(25);
  t.paused_at = r.optional_int64(26);
  t.start_at = r.optional_int64(27);
  t.end_at = r.optional_int64(28);
  t.jitter_seconds = static_cast<int>(r.int64(29));
  if (auto n = r.optional_int64(30)) t.max_runs = static_cast<int>(*n);
  if (auto n = r.optional_int64(31)) t.pause_after_failures = static_cast<int>(*n);
  t.catch_up_policy = must(parse_catch_up_policy(r.text(32)), "catch-up policy");
  t.catch_up_window_seconds = static_cast<int>(r.int64(33));
  if (auto rules = r.optional_text(34)) {
    try {
      t.notifications = decode_rules(*rules);
    } catch (const std::invalid_argument& e) {
      throw StoreError(std::string("corrupt row: ") + e.what());
    }
  }
  if (auto tags = r.optional_text(35)) {
    try {
      t.tags = decode_tags(*tags);
    } catch (const std::invalid_argument& e) {
      throw StoreError(std::string("corrupt row: ") + e.what());
    }
  }
  t.run_count = r.int64(36);
  return t;
}

/// Gives every column of the task to `add`, in kTaskColumns order.
template <typename Sink>
void task_values(const Task& t, Sink&& add) {
  add(std::string_view{t.id});
  add(std::string_view{t.name});
  add(std::string_view{t.cron_expression});
  add(std::string_view{t.timezone});
  add(to_string(t.type));
  add(t.function_name);
  add(t.function_payload);
  add(t.http_method);
  add(t.http_url);
  add(t.http_headers);
  add(t.http_body);
  add(t.catches_up());
  add(t.enabled);
  add(std::int64_t{t.max_retries});
  add(std::int64_t{t.retry_delay_seconds});
  add(std::int64_t{t.timeout_seconds});
  add(to_string(t.overlap_policy));
  add(t.created_at);
  add(t.updated_at);
  add(t.command);
  add(t.working_directory);
  add(t.environment);
  add(t.command_input);
  add(to_string(t.retry_backoff));
  add(std::int64_t{t.retry_max_delay_seconds});
  add(t.paused_note);
  add(t.paused_at);
  add(t.start_at);
  add(t.end_at);
  add(std::int64_t{t.jitter_seconds});
  add(t.max_runs ? std::optional<std::int64_t>{*t.max_runs} : std::nullopt);
  add(t.pause_after_failures ? std::optional<std::int64_t>{*t.pause_after_failures} : std::nullopt);
  add(to_string(t.catch_up_policy));
  add(std::int64_t{t.catch_up_window_seconds});
  add(t.notifications.empty() ? std::nullopt
                              : std::optional<std::string>{encode_rules(t.notifications)});
  add(t.tags.empty() ? std::nullopt : std::optional<std::string>{encode_tags(t.tags)});
}

/// An execution from a row whose columns are kExecutionColumns.
template <typename Row>
Execution read_execution(const Row& r) {
  Execution e;
  e.id = std::string(r.text(0));
  e.task_id = std::string(r.text(1));
  e.status = must(parse_execution_status(r.text(2)), "execution status");
  e.trigger = must(parse_trigger(r.text(3)), "trigger");
  e.scheduled_for = r.int64(4);
  e.queued_at = r.int64(5);
  e.started_at = r.optional_int64(6);
  e.finished_at = r.optional_int64(7);
  e.error_message = r.optional_text(8);
  e.result_summary = r.optional_text(9);
  e.output = r.optional_text(10);
  e.attempts = static_cast<int>(r.int64(11));
  e.duration_ms = r.optional_int64(12);
  e.node_id = r.optional_text(13);
  return e;
}

/// Gives every column of the execution to `add`, in kExecutionColumns order.
template <typename Sink>
void execution_values(const Execution& e, Sink&& add) {
  add(std::string_view{e.id});
  add(std::string_view{e.task_id});
  add(to_string(e.status));
  add(to_string(e.trigger));
  add(e.scheduled_for);
  add(e.queued_at);
  add(e.started_at);
  add(e.finished_at);
  add(e.error_message);
  add(e.result_summary);
  add(e.output);
  add(std::int64_t{e.attempts});
  add(e.duration_ms);
  add(e.node_id);
}

/// The columns of an execution that change after it is queued: its state.
inline constexpr std::string_view kExecutionStateColumns =
    "status, started_at, finished_at, error_message, result_summary, output, attempts, "
    "duration_ms, node_id";

/// Gives the id, then every column of kExecutionStateColumns, to `add`.
template <typename Sink>
void execution_state_values(const Execution& e, Sink&& add) {
  add(std::string_view{e.id});
  add(to_string(e.status));
  add(e.started_at);
  add(e.finished_at);
  add(e.error_message);
  add(e.result_summary);
  add(e.output);
  add(std::int64_t{e.attempts});
  add(e.duration_ms);
  add(e.node_id);
}

/// "<mark>1, <mark>2, ..." for `count` parameters: "?1, ?2" (SQLite) or "$1, $2" (PostgreSQL).
inline std::string placeholders(char mark, int count) {
  std::string out;
  for (int i = 1; i <= count; ++i)
    out += (i > 1 ? ", " : "") + std::string(1, mark) + std::to_string(i);
  return out;
}

/// "name = ?2, cron_expression = ?3, ...": every column of `columns` but the first (the
/// key, parameter 1), each set from its own parameter.
inline std::string assignments(std::string_view columns, char mark) {
  std::string out;
  int n = 0;
  for (std::size_t start = 0; start < columns.size();) {
    auto end = columns.find(',', start);
    if (end == std::string_view::npos) end = columns.size();
    auto column = columns.substr(start, end - start);
    while (column.starts_with(' '))
      column.remove_prefix(1);
    if (++n > 1) {
      out += (n > 2 ? ", " : "") + std::string(column) + " = " + std::string(1, mark) +
             std::to_string(n);
    }
    start = end + 1;
  }
  return out;
}

/// The conditions of a WHERE clause, joined by AND:
///   Where w;  w.add("type = ?3");  sql += w.sql();   // "WHERE type = ?3 " or ""
class Where {
 public:
  Where& add(std::string_view condition) {
    conditions_ += (conditions_.empty() ? "WHERE " : " AND ") + std::string(condition);
    return *this;
  }
  std::string sql() const { return conditions_.empty() ? std::string{} : conditions_ + " "; }

 private:
  std::string conditions_;
};

/// Folds the states of one execution in a batch: the indexes of the inserts and of the
/// newest update of each execution, in batch order (it carries everything the older ones
/// did).
inline std::vector<std::size_t> newest_states(std::span<const ExecutionWrite> batch) {
  std::unordered_map<std::string_view, std::size_t> newest;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].kind == ExecutionWrite::Kind::update) newest[batch[i].execution.id] = i;
  }
  std::vector<std::size_t> out;
  out.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].kind == ExecutionWrite::Kind::insert || newest[batch[i].execution.id] == i) {
      out.push_back(i);
    }
  }
  return out;
}

/// What the migration runner needs of a dialect, inside the transaction that migrates.
struct MigrationSteps {
  std::function<int()> current_version;  // 0 for a new database
  std::function<void(std::string_view sql)> exec;
  std::function<void(const Migration& m)> record;  // into schema_migrations
};

/// Applies the migrations newer than the database's version, in order; refuses a database
/// whose schema is newer than this cronkit knows.
inline MigrationReport apply_migrations(const std::vector<Migration>& all,
                                        const MigrationSteps& steps) {
  const int newest = all.empty() ? 0 : all.back().version;
  MigrationReport report;
  report.version_before = steps.current_version();
  if (report.version_before > newest) {
    throw StoreError("the database has schema version " + std::to_string(report.version_before) +
                     ", newer than this cronkit knows (" + std::to_string(newest) +
                     "): run a newer cronkit");
  }
  for (const auto& m : all) {
    if (m.version <= report.version_before) continue;
    steps.exec(m.sql);
    steps.record(m);
    report.applied.emplace_back(m.name);
  }
  report.version_after = std::max(report.version_before, newest);
  return report;
}

/// LIMIT and OFFSET of a page: pages count from 1 and hold 1 to 1000 rows.
inline std::pair<std::int64_t, std::int64_t> limit_offset(int page, int page_size) {
  std::int64_t size = std::clamp(page_size, 1, 1000);
  std::int64_t offset = (std::max(page, 1) - std::int64_t{1}) * size;
  return {size, offset};
}

/// Executions read with one row more than the page holds: drops it, and makes the last
/// row's id the next page's cursor when it was there.
inline void end_page(Page<Execution>& page, std::int64_t limit) {
  if (static_cast<std::int64_t>(page.list.size()) <= limit) return;
  page.list.pop_back();
  page.next_cursor = page.list.back().id;
}

/// The total of a count made with LIMIT ExecutionFilter::kMaxCounted + 1.
inline void set_total(Page<Execution>& page, std::int64_t counted) {
  page.total_exact = counted <= ExecutionFilter::kMaxCounted;
  page.total = std::min(counted, ExecutionFilter::kMaxCounted);
}

/// A LIKE pattern (ESCAPE '\') for names containing `text`, with % and _ in it literal
/// and ASCII letters lowered (the stores compare lowered names).
inline std::string contains_pattern(std::string_view text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  pattern += '%';
  return pattern;
}

/// The statuses of a task's newest finished executions queued since a time, newest first
/// (parameters: task id, since, limit; `?` or `$` placeholders).
inline std::string finished_statuses_sql(char mark) {
  auto n = [&](int i) { return std::string(1, mark) + std::to_string(i); };
  return "SELECT status FROM task_execution_logs WHERE task_id = " + n(1) +
         " AND queued_at >= " + n(2) +
         " AND status IN ('success', 'failed', 'timed_out') ORDER BY id DESC LIMIT " + n(3);
}

/// How many of `statuses` (newest first) are failures before the first success.
template <typename Statuses>
int leading_failures(const Statuses& statuses) {
  int n = 0;
  for (std::string_view s : statuses) {
    if (s == "success") break;
    ++n;
  }
  return n;
}

inline std::string select_tasks(std::string_view tail) {
  return "SELECT " + std::string(kTaskColumns) + std::string(kTaskCounters) +
         " FROM scheduled_tasks " + std::string(tail);
}

// ---- notification channels

inline constexpr std::string_view kChannelColumns =
    "id, name, type, url, headers, secret, mail_from, mail_to, smtp_user, smtp_password, "
    "start_tls, created_at, updated_at";
inline constexpr int kChannelColumnCount = 13;

/// An email channel's recipients as stored: one address per line (an address has none).
inline std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : "\n") + item;
  return out;
}
inline std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto end = text.find('\n');
    out.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

template <typename Row>
Channel read_channel(const Row& r) {
  Channel c;
  c.id = std::string(r.text(0));
  c.name = std::string(r.text(1));
  c.type = must(parse_channel_type(r.text(2)), "channel type");
  c.url = std::string(r.text(3));
  c.headers = r.optional_text(4);
  c.secret = r.optional_text(5);
  c.mail_from = r.optional_text(6).value_or("");
  c.mail_to = split_lines(r.optional_text(7).value_or(""));
  c.username = r.optional_text(8);
  c.password = r.optional_text(9);
  c.start_tls = r.boolean(10);
  c.created_at = r.int64(11);
  c.updated_at = r.int64(12);
  return c;
}

/// Gives every column of the channel to `add`, in kChannelColumns order.
template <typename Sink>
void channel_values(const Channel& c, Sink&& add) {
  add(std::string_view{c.id});
  add(std::string_view{c.name});
  add(to_string(c.type));
  add(std::string_view{c.url});
  add(c.headers);
  add(c.secret);
  add(c.type == ChannelType::email ? std::optional<std::string>{c.mail_from} : std::nullopt);
  add(c.type == ChannelType::email ? std::optional<std::string>{join_lines(c.mail_to)}
                                   : std::nullopt);
  add(c.username);
  add(c.password);
  add(c.start_tls);
  add(c.created_at);
  add(c.updated_at);
}

// ---- API tokens

inline constexpr std::string_view kTokenColumns =
    "id, name, role, token_hash, created_at, created_by, expires_at, last_used_at, revoked_at";
inline constexpr int kTokenColumnCount = 9;

template <typename Row>
ApiToken read_token(const Row& r) {
  ApiToken t;
  t.id = std::string(r.text(0));
  t.name = std::string(r.text(1));
  t.role = must(parse_role(r.text(2)), "role");
  t.hash = std::string(r.text(3));
  t.created_at = r.int64(4);
  t.created_by = std::string(r.text(5));
  t.expires_at = r.optional_int64(6);
  t.last_used_at = r.optional_int64(7);
  t.revoked_at = r.optional_int64(8);
  return t;
}

/// Gives every column of the token to `add`, in kTokenColumns order.
template <typename Sink>
void token_values(const ApiToken& t, Sink&& add) {
  add(std::string_view{t.id});
  add(std::string_view{t.name});
  add(to_string(t.role));
  add(std::string_view{t.hash});
  add(t.created_at);
  add(std::string_view{t.created_by});
  add(t.expires_at);
  add(t.last_used_at);
  add(t.revoked_at);
}

inline std::string select_tokens(std::string_view tail) {
  return "SELECT " + std::string(kTokenColumns) + " FROM api_tokens " + std::string(tail);
}

// ---- the audit trail

inline constexpr std::string_view kAuditColumns =
    "id, at, actor, address, action, target_id, target_name, changes, detail";
inline constexpr int kAuditColumnCount = 9;

template <typename Row>
AuditEntry read_audit(const Row& r) {
  AuditEntry a;
  a.id = std::string(r.text(0));
  a.at = r.int64(1);
  a.actor = std::string(r.text(2));
  a.address = std::string(r.text(3));
  a.action = std::string(r.text(4));
  a.target_id = r.optional_text(5);
  a.target_name = r.optional_text(6);
  a.changes = r.optional_text(7);
  a.detail = r.optional_text(8);
  return a;
}

/// Gives every column of the entry to `add`, in kAuditColumns order.
template <typename Sink>
void audit_values(const AuditEntry& a, Sink&& add) {
  add(std::string_view{a.id});
  add(a.at);
  add(std::string_view{a.actor});
  add(std::string_view{a.address});
  add(std::string_view{a.action});
  add(a.target_id);
  add(a.target_name);
  add(a.changes);
  add(a.detail);
}

/// The WHERE clause of an AuditFilter (empty: none) and its parameters' values, numbered
/// from `first` on with `mark` ('?' or '$').
struct AuditWhere {
  std::string sql;
  std::vector<std::variant<std::string, std::int64_t>> values;
};

inline AuditWhere audit_where(const AuditFilter& f, char mark, int first) {
  AuditWhere out;
  Where w;
  auto param = [&](std::variant<std::string, std::int64_t> v) {
    out.values.push_back(std::move(v));
    return mark + std::to_string(first + static_cast<int>(out.values.size()) - 1);
  };
  if (f.target) {
    const std::string p = param(*f.target);
    w.add("(target_id = " + p + " OR target_name = " + p + ")");
  }
  if (f.actor) w.add("actor = " + param(*f.actor));
  if (f.action && f.action->find('.') == std::string::npos) {
    // A kind: every "kind.*" ('/' follows '.').
    w.add("action >= " + param(*f.action + ".") + " AND action < " + param(*f.action + "/"));
  } else if (f.action) {
    w.add("action = " + param(*f.action));
  }
  if (f.from) w.add("at >= " + param(std::int64_t{*f.from}));
  if (f.to) w.add("at < " + param(std::int64_t{*f.to}));
  out.sql = w.sql();
  return out;
}

// ---- notification deliveries

inline constexpr std::string_view kDeliveryColumns =
    "id, channel_id, task_id, execution_id, event, status, attempts, last_status, last_error, "
    "summary, created_at, finished_at, payload, next_attempt_at";
inline constexpr int kDeliveryColumnCount = 14;

template <typename Row>
Delivery read_delivery(const Row& r) {
  Delivery d;
  d.id = std::string(r.text(0));
  d.channel_id = std::string(r.text(1));
  d.task_id = r.optional_text(2);
  d.execution_id = r.optional_text(3);
  d.event = must(parse_notify_event(r.text(4)), "notification event");
  d.status = must(parse_delivery_status(r.text(5)), "delivery status");
  d.attempts = static_cast<int>(r.int64(6));
  d.last_status = r.optional_int64(7);
  d.last_error = r.optional_text(8);
  d.summary = std::string(r.text(9));
  d.created_at = r.int64(10);
  d.finished_at = r.optional_int64(11);
  d.payload = r.optional_text(12).value_or(std::string{});
  d.next_attempt_at = r.optional_int64(13);
  return d;
}

/// Gives every column of the delivery to `add`, in kDeliveryColumns order.
template <typename Sink>
void delivery_values(const Delivery& d, Sink&& add) {
  add(std::string_view{d.id});
  add(std::string_view{d.channel_id});
  add(d.task_id);
  add(d.execution_id);
  add(to_string(d.event));
  add(to_string(d.status));
  add(std::int64_t{d.attempts});
  add(d.last_status);
  add(d.last_error);
  add(std::string_view{d.summary});
  add(d.created_at);
  add(d.finished_at);
  add(d.payload.empty() ? std::nullopt : std::optional<std::string>{d.payload});
  add(d.next_attempt_at);
}

/// "status = ?6, attempts = ?7, ...": what an update of a delivery writes, by the
/// parameter numbers of delivery_values; it ends the delivery's lease.
inline std::string delivery_state_assignments(char mark) {
  auto p = [&](int n) { return std::string(1, mark) + std::to_string(n); };
  return "status = " + p(6) + ", attempts = " + p(7) + ", last_status = " + p(8) +
         ", last_error = " + p(9) + ", finished_at = " + p(12) + ", next_attempt_at = " + p(14) +
         ", lease_owner = NULL, lease_until = NULL";
}

/// Finds the tasks whose rules name a channel: a LIKE that may match more (the text of
/// another field), checked by reading the rules.
inline constexpr std::string_view kTasksNotifying =
    "SELECT name, notifications FROM scheduled_tasks WHERE notifications LIKE "
    "'%\"channelId\":\"' || {} || '\"%' ORDER BY created_at, id";

/// Whether rules stored as `text` (encode_rules()) send to `channel_id`.
inline bool notifies_channel(std::string_view text, std::string_view channel_id) {
  try {
    return std::ranges::any_of(decode_rules(text),
                               [&](const NotifyRule& r) { return r.channel_id == channel_id; });
  } catch (const std::invalid_argument&) {
    return false;
  }
}

/// The deliveries of a task that paused itself (`task` as paused, with its note): one per
/// rule with `paused` in its events.
inline std::vector<Delivery> paused_deliveries(const Task& task, Millis now) {
  std::vector<Delivery> out;
  for (const auto& rule : task.notifications) {
    if (!rule.notifies(NotifyEvent::paused)) continue;
    out.push_back(delivery_of(rule, {.kind = NotifyEvent::paused,
                                     .task_id = task.id,
                                     .task_name = task.name,
                                     .at = now,
                                     .note = task.paused_note}));
  }
  return out;
}

/// The note of a task paused by its run limit, as kMaxRunsNote writes it.
inline std::string max_runs_note(int max_runs) {
  return "paused by cronkit: made its " + std::to_string(max_runs) + " runs (maxRuns)";
}

/// The executions of a task that started within their grace, by instant: (task_id $1,
/// after $2, until $3, grace_ms $4) -> scheduled_for.
inline constexpr std::string_view kStartedInTime =
    "SELECT scheduled_for FROM task_execution_logs WHERE task_id = {1} AND scheduled_for > {2} "
    "AND scheduled_for <= {3} AND \"trigger\" <> 'manual' AND started_at IS NOT NULL AND "
    "started_at <= scheduled_for + {4}";

/// The tasks that may have rules telling an event (checked by reading them).
inline constexpr std::string_view kTasksTellingSelect = "WHERE notifications LIKE {1} AND enabled";

/// "{1}" -> "?1" or "$1" ...
inline std::string numbered(std::string_view sql, char mark) {
  std::string out;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '{' && i + 2 < sql.size() && sql[i + 2] == '}') {
      out += mark;
      out += sql[i + 1];
      i += 2;
    } else {
      out += sql[i];
    }
  }
  return out;
}

/// Whether one of the task's rules tells `event`.
inline bool tells(const Task& task, NotifyEvent event) {
  return std::ranges::any_of(task.notifications,
                             [&](const NotifyRule& r) { return r.notifies(event); });
}

/// The LIKE pattern of kTasksTellingSelect for `event`.
inline std::string telling_pattern(NotifyEvent event) {
  return "%\"" + std::string(to_string(event)) + "\"%";
}

/// The missed instants and their delivery: `instants` less those in `started` (sorted).
template <typename Queue>
bool tell_missed(const Task& task, const NotifyRule& rule, Millis now,
                 const std::vector<Millis>& instants, std::vector<Millis> started, Queue&& queue) {
  std::ranges::sort(started);
  TaskEvent told{
      .kind = NotifyEvent::missed, .task_id = task.id, .task_name = task.name, .at = now};
  for (Millis at : instants) {
    if (std::ranges::binary_search(started, at)) continue;
    if (told.missed == 0) told.first_missed = at;
    told.last_missed = at;
    ++told.missed;
  }
  if (told.missed == 0) return false;
  queue(delivery_of(rule, told));
  return true;
}

/// What a written execution's end does to its task's notification rules: reads and writes
/// each rule's alert state and queues the deliveries it causes, through the store's own
/// statements (in the transaction that writes the execution). Returns how many it queued.
///   read(task_id, channel_id) -> AlertState;  write(task_id, channel_id, AlertState);
///   queue(Delivery)
template <typename Read, typename Write, typename Queue>
int alert_on_end(const ExecutionWrite& w, Read&& read, Write&& write, Queue&& queue) {
  const Execution& e = w.execution;
  if (!w.task || w.task->notifications.empty() || w.kind != ExecutionWrite::Kind::update ||
      !is_terminal(e.status) || e.status == ExecutionStatus::skipped) {
    return 0;
  }
  const Millis now = e.finished_at.value_or(e.queued_at);
  int queued = 0;
  for (const auto& rule : w.task->notifications) {
    AlertState state = read(e.task_id, rule.channel_id);
    const AlertState before = state;
    auto event = after_execution(rule, state, e.status, now);
    if (state != before) write(e.task_id, rule.channel_id, state);
    if (!event) continue;
    queue(delivery_of(rule, {.kind = *event,
                             .task_id = w.task->id,
                             .task_name = w.task->name,
                             .at = now,
                             .execution = e,
                             .failures = state.failures}));
    ++queued;
  }
  return queued;
}

inline std::string select_deliveries(std::string_view tail) {
  return "SELECT " + std::string(kDeliveryColumns) + " FROM notification_deliveries " +
         std::string(tail);
}

inline std::string select_channels(std::string_view tail) {
  return "SELECT " + std::string(kChannelColumns) + " FROM notification_channels " +
         std::string(tail);
}

inline std::string select_executions(std::string_view tail) {
  return "SELECT " + std::string(kExecutionColumns) + " FROM task_execution_logs " +
         std::string(tail);
}

/// "status = <param>", plus the condition of the index of unsuccessful executions when
/// `status` allows it: SQLite uses a partial index only when the query repeats its
/// condition, and a generic PostgreSQL plan does not know the parameter's value.
inline std::string status_is(std::string_view param, ExecutionStatus status) {
  std::string sql = "status = " + std::string(param);
  if (status != ExecutionStatus::success) sql += " AND status <> 'success'";
  return sql;
}

inline bool is_failure(ExecutionStatus s) {
  return s == ExecutionStatus::failed || s == ExecutionStatus::timed_out;
}

}  // namespace cronkit::store
