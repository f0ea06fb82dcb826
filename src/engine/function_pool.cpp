#include "engine/function_pool.h"

#include <algorithm>
#include <boost/json/parse.hpp>

namespace cronkit::engine {
namespace {

// How long every thread may be busy without taking a new item before more are started.
constexpr std::chrono::milliseconds kStallCheck{1};

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

FunctionPool::FunctionPool(const Registry& registry, std::size_t max_threads)
    : registry_(registry),
      max_threads_(std::max<std::size_t>(1, max_threads)),
      base_threads_(std::min(max_threads_,
                             std::max<std::size_t>(2, 2 * std::thread::hardware_concurrency()))) {}

FunctionPool::~FunctionPool() {
  stop();
}

void FunctionPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
    queue_.clear();
    for (auto& [id, stop] : running_)
      stop.request_stop();
    threads = std::move(workers_);
    workers_.clear();
  }
  work_ready_.notify_all();
  watch_.notify_all();
  for (auto& t : threads)
    t.join();
  if (watcher_.joinable()) watcher_.join();
}

std::size_t FunctionPool::threads() const {
  std::lock_guard lock{mutex_};
  return workers_.size();
}

void FunctionPool::submit(std::vector<Job> jobs) {
  std::lock_guard lock{mutex_};
  if (stopping_ || jobs.empty()) return;
  if (queue_.empty()) progress_ = std::chrono::steady_clock::now();
  for (auto& job : jobs)
    queue_.push_back(std::move(job));
  // Idle threads take everything queued before they wait again: wake one per item only
  // while there are idle ones for it (a burst of 10,000 items must not make 10,000 system
  // calls). Beyond the base threads, more come only when the handlers stall.
  for (std::size_t woken = 0; woken < idle_ && woken < jobs.size(); ++woken)
    work_ready_.notify_one();
  while (queue_.size() > idle_ && workers_.size() < base_threads_)
    workers_.emplace_back([this] { work(); });
  if (queue_.size() > idle_ && workers_.size() < max_threads_) {
    if (!watcher_.joinable()) {
      watcher_ = std::thread([this] { watch(); });
    } else if (watcher_asleep_) {
      watch_.notify_one();
    }
  }
}

void FunctionPool::cancel(std::uint64_t id) {
  std::lock_guard lock{mutex_};
  if (auto it = running_.find(id); it != running_.end()) {
    it->second.request_stop();
    return;
  }
  auto queued = std::ranges::find_if(queue_, [&](const Item& i) { return i.attempt.id == id; });
  if (queued != queue_.end()) queue_.erase(queued);
}

void FunctionPool::work() {
  Lock lock{mutex_};
  for (;;) {
    ++idle_;
    work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    progress_ = std::chrono::steady_clock::now();
    const std::uint64_t id = item.attempt.id;
    const std::stop_token stop = running_[id].get_token();
    ++in_handlers_;
    lock.unlock();
    Outcome outcome = call(item.attempt, stop);
    lock.lock();
    --in_handlers_;
    running_.erase(id);
    lock.unlock();
    item.done(std::move(outcome));
    lock.lock();
  }
}

void FunctionPool::watch() {
  Lock lock{mutex_};
  while (!stopping_) {
    if (queue_.empty() || idle_ > 0 || workers_.size() >= max_threads_) {
      watcher_asleep_ = true;
      watch_.wait(lock);
      watcher_asleep_ = false;
      continue;
    }
    // A stall is every thread inside a handler and none taking an item for a while: threads
    // that wait to report an outcome (the engine's lock is busy) are not blocked handlers,
    // and more threads would only queue up behind the same lock.
    const auto now = std::chrono::steady_clock::now();
    if (in_handlers_ == workers_.size() && now - progress_ >= kStallCheck) {
      // Every thread is busy and none has taken an item for a while: the handlers block
      // (sleep, I/O). Double the threads, so that 256 are reached within a few milliseconds.
      const std::size_t add =
          std::min(max_threads_ - workers_.size(), std::max<std::size_t>(workers_.size(), 1));
      for (std::size_t i = 0; i < add; ++i)
        workers_.emplace_back([this] { work(); });
      progress_ = now;
    }
    watch_.wait_for(lock, kStallCheck);
  }
}

Outcome FunctionPool::call(const Attempt& a, std::stop_token stop) const {
  const Task& task = *a.task;
  TaskFunction fn = registry_.find(task.function_name.value_or(""));
  if (!fn) {
    return {false,
            false,
            false,
            "function '" + task.function_name.value_or("") +
                "' is not registered; registered functions: " + join(registry_.names()),
            {}};
  }
  boost::system::error_code ec;
  boost::json::value payload;
  if (task.function_payload && !task.function_payload->empty()) {
    payload = boost::json::parse(*task.function_payload, ec);
  }
  if (ec) return {false, false, false, "functionPayload is not valid JSON: " + ec.message(), {}};
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  TaskContext ctx{.payload = payload,
                  .task_id = task.id,
                  .task_name = task.name,
                  .execution_id = a.execution_id,
                  .attempt = a.number,
                  .scheduled_for = system_clock::time_point{milliseconds{a.scheduled_for}},
                  .deadline = system_clock::time_point{milliseconds{a.deadline}},
                  .stop = std::move(stop)};
  try {
    TaskResult r = fn(ctx);
    return {r.success, true, false, std::move(r.message), {}};
  } catch (const std::exception& e) {
    return {false, true, false, e.what(), {}};
  } catch (...) {
    return {false, true, false, "the function threw something that is not a std::exception", {}};
  }
}

}  // namespace cronkit::engine
