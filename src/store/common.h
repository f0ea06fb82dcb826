#pragma once

// What both stores share: the column lists of the seed's tables, paging and row checks.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/store.h"

namespace cronkit::store {

inline constexpr std::string_view kTaskColumns =
    "id, name, cron_expression, timezone, type, function_name, function_payload, http_method, "
    "http_url, http_headers, http_body, catch_up, enabled, max_retries, retry_delay_seconds, "
    "timeout_seconds, overlap_policy, created_at, updated_at";

inline constexpr std::string_view kExecutionColumns =
    "id, task_id, status, \"trigger\", scheduled_for, queued_at, started_at, finished_at, "
    "error_message, result_summary, output, attempts, duration_ms, node_id";

/// A value read from a row that must be one of a known set.
template <typename T>
T must(std::optional<T> v, std::string_view what) {
  if (!v) throw StoreError("corrupt row: unknown " + std::string(what));
  return *v;
}

/// LIMIT and OFFSET of a page: pages count from 1 and hold 1 to 1000 rows.
inline std::pair<std::int64_t, std::int64_t> limit_offset(int page, int page_size) {
  std::int64_t size = std::clamp(page_size, 1, 1000);
  std::int64_t offset = (std::max(page, 1) - std::int64_t{1}) * size;
  return {size, offset};
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

inline std::string select_tasks(std::string_view tail) {
  return "SELECT " + std::string(kTaskColumns) + " FROM scheduled_tasks " + std::string(tail);
}

inline std::string select_executions(std::string_view tail) {
  return "SELECT " + std::string(kExecutionColumns) + " FROM task_execution_logs " +
         std::string(tail);
}

/// " AND status = <param>", plus the condition of the index of unsuccessful executions
/// when `status` allows it: SQLite uses a partial index only when the query repeats its
/// condition, and a generic PostgreSQL plan does not know the parameter's value.
inline std::string status_is(std::string_view param, ExecutionStatus status) {
  std::string sql = " AND status = " + std::string(param);
  if (status != ExecutionStatus::success) sql += " AND status <> 'success'";
  return sql;
}

inline bool is_failure(ExecutionStatus s) {
  return s == ExecutionStatus::failed || s == ExecutionStatus::timed_out;
}

}  // namespace cronkit::store
