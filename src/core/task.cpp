#include "core/task.h"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>
#include <utility>

namespace cronkit {
namespace {

template <typename E, std::size_t N>
std::optional<E> lookup(const std::array<std::pair<E, std::string_view>, N>& names,
                        std::string_view s) {
  for (const auto& [value, name] : names) {
    if (name == s) return value;
  }
  return std::nullopt;
}

template <typename E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& names, E e) {
  for (const auto& [value, name] : names) {
    if (value == e) return name;
  }
  return "?";
}

constexpr std::array<std::pair<TaskType, std::string_view>, 3> kTaskTypes = {
    {{TaskType::function, "function"}, {TaskType::http, "http"}, {TaskType::command, "command"}}};
constexpr std::array<std::pair<OverlapPolicy, std::string_view>, 5> kPolicies = {
    {{OverlapPolicy::allow, "allow"},
     {OverlapPolicy::skip, "skip"},
     {OverlapPolicy::replace, "replace"},
     {OverlapPolicy::buffer_one, "buffer_one"},
     {OverlapPolicy::buffer_all, "buffer_all"}}};
constexpr std::array<std::pair<RetryBackoff, std::string_view>, 2> kBackoffs = {
    {{RetryBackoff::fixed, "fixed"}, {RetryBackoff::exponential, "exponential"}}};
constexpr std::array<std::pair<CatchUpPolicy, std::string_view>, 3> kCatchUps = {
    {{CatchUpPolicy::none, "none"},
     {CatchUpPolicy::latest, "latest"},
     {CatchUpPolicy::all, "all"}}};
constexpr std::array<std::pair<ExecutionStatus, std::string_view>, 6> kStatuses = {
    {{ExecutionStatus::queued, "queued"},
     {ExecutionStatus::running, "running"},
     {ExecutionStatus::success, "success"},
     {ExecutionStatus::failed, "failed"},
     {ExecutionStatus::timed_out, "timed_out"},
     {ExecutionStatus::skipped, "skipped"}}};
constexpr std::array<std::pair<Trigger, std::string_view>, 4> kTriggers = {
    {{Trigger::schedule, "schedule"},
     {Trigger::manual, "manual"},
     {Trigger::catch_up, "catch-up"},
     {Trigger::backfill, "backfill"}}};

}  // namespace

std::string_view to_string(TaskType t) {
  return name_of(kTaskTypes, t);
}
std::string_view to_string(OverlapPolicy p) {
  return name_of(kPolicies, p);
}
std::string_view to_string(RetryBackoff b) {
  return name_of(kBackoffs, b);
}
std::string_view to_string(CatchUpPolicy p) {
  return name_of(kCatchUps, p);
}
std::string_view to_string(ExecutionStatus s) {
  return name_of(kStatuses, s);
}
std::string_view to_string(Trigger t) {
  return name_of(kTriggers, t);
}

std::optional<TaskType> parse_task_type(std::string_view s) {
  return lookup(kTaskTypes, s);
}
std::optional<OverlapPolicy> parse_overlap_policy(std::string_view s) {
  return lookup(kPolicies, s);
}
std::optional<RetryBackoff> parse_retry_backoff(std::string_view s) {
  return lookup(kBackoffs, s);
}
std::optional<CatchUpPolicy> parse_catch_up_policy(std::string_view s) {
  return lookup(kCatchUps, s);
}
std::optional<ExecutionStatus> parse_execution_status(std::string_view s) {
  return lookup(kStatuses, s);
}
std::optional<Trigger> parse_trigger(std::string_view s) {
  return lookup(kTriggers, s);
}

bool is_terminal(ExecutionStatus s) {
  return s != ExecutionStatus::queued && s != ExecutionStatus::running;
}

bool valid_tag(std::string_view tag) {
  return !tag.empty() && tag.size() <= kMaxTagChars && std::ranges::all_of(tag, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/' || c == ':';
  });
}

bool has_tags(const std::vector<std::string>& tags, const std::vector<std::string>& wanted) {
  return std::ranges::all_of(
      wanted, [&](const std::string& w) { return std::ranges::find(tags, w) != tags.end(); });
}

std::string encode_tags(const std::vector<std::string>& tags) {
  boost::json::array out;
  for (const auto& t : tags)
    out.emplace_back(t);
  return boost::json::serialize(out);
}

std::vector<std::string> decode_tags(std::string_view text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) throw std::invalid_argument("tags: not a JSON array");
  std::vector<std::string> tags;
  for (const auto& t : v.as_array()) {
    if (!t.is_string()) throw std::invalid_argument("tags: not a string");
    tags.emplace_back(t.as_string());
  }
  return tags;
}

}  // namespace cronkit
