#include "app/outcome_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

namespace cronkit::app {
namespace {

// Tasks whose failures an interval tracks by name, and how many the summary names.
constexpr std::size_t kMaxTasks = 1000;
constexpr std::size_t kNamed = 3;

}  // namespace

OutcomeLog::OutcomeLog(std::chrono::milliseconds interval) : interval_(interval) {}

OutcomeLog::~OutcomeLog() {
  stop();
}

void OutcomeLog::start() {
  since_ = std::chrono::steady_clock::now();
  thread_ = std::jthread{[this](std::stop_token stop) { run(std::move(stop)); }};
}

void OutcomeLog::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  summarize();
}

void OutcomeLog::ended(const Execution& e) {
  if (!is_terminal(e.status)) return;
  const std::string& what = e.status == ExecutionStatus::success
                                ? e.result_summary.value_or("")
                                : e.error_message.value_or(e.result_summary.value_or(""));
  spdlog::debug("execution {} of task {} ({}): {} after {} attempt{} in {} ms{}{}", e.id, e.task_id,
                to_string(e.trigger), to_string(e.status), e.attempts, e.attempts == 1 ? "" : "s",
                e.duration_ms.value_or(0), what.empty() ? "" : ": ", what);
  std::lock_guard lock{mutex_};
  switch (e.status) {
    case ExecutionStatus::success:
      ++success_;
      return;
    case ExecutionStatus::skipped:
      ++skipped_;
      return;
    case ExecutionStatus::timed_out:
      ++timed_out_;
      break;
    default:
      ++failed_;
      break;
  }
  auto it = failures_.find(e.task_id);
  if (it == failures_.end()) {
    if (failures_.size() >= kMaxTasks) return;
    it = failures_.emplace(e.task_id, Failures{}).first;
  }
  ++it->second.count;
  it->second.last = what;
}

void OutcomeLog::run(std::stop_token stop) {
  auto next = std::chrono::steady_clock::now() + interval_;
  std::unique_lock lock{mutex_};
  for (;;) {
    wake_.wait_until(lock, stop, next, [] { return false; });
    if (stop.stop_requested()) return;
    lock.unlock();
    summarize();
    lock.lock();
    next += interval_;
  }
}

void OutcomeLog::summarize() {
  std::int64_t success = 0;
  std::int64_t failed = 0;
  std::int64_t timed_out = 0;
  std::int64_t skipped = 0;
  std::map<std::string, Failures> failures;
  const auto now = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point since;
  {
    std::lock_guard lock{mutex_};
    since = std::exchange(since_, now);
    success = std::exchange(success_, 0);
    failed = std::exchange(failed_, 0);
    timed_out = std::exchange(timed_out_, 0);
    skipped = std::exchange(skipped_, 0);
    failures.swap(failures_);
  }
  const std::int64_t total = success + failed + timed_out + skipped;
  if (total == 0) return;
  std::vector<std::pair<std::string, Failures>> worst(failures.begin(), failures.end());
  const auto named = std::min(worst.size(), kNamed);
  std::partial_sort(worst.begin(), worst.begin() + static_cast<std::ptrdiff_t>(named), worst.end(),
                    [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
  std::string most;
  for (std::size_t i = 0; i < named; ++i) {
    most += (i == 0 ? "; most failures: task " : ", task ") + worst[i].first + " (" +
            std::to_string(worst[i].second.count) +
            (worst[i].second.last.empty() ? "" : ", last: " + worst[i].second.last) + ")";
  }
  const auto seconds = std::chrono::round<std::chrono::seconds>(now - since).count();
  spdlog::info(
      "executions ended in the last {} s: {} ({} success, {} failed, {} timed out, {} "
      "skipped){}",
      seconds, total, success, failed, timed_out, skipped, most);
}

}  // namespace cronkit::app
