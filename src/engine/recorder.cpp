#include "engine/recorder.h"

#include <algorithm>
#include <chrono>
#include <string_view>
#include <unordered_map>

namespace cronkit::engine {

Recorder::Recorder(Store& store, int lanes) : store_(store) {
  for (int i = 0; i < std::max(lanes, 1); ++i)
    lanes_.push_back(std::make_unique<Lane>());
}

Recorder::~Recorder() {
  stop();
}

void Recorder::start() {
  {
    std::lock_guard done_lock{done_mutex_};
    if (notifier_.joinable()) return;
    done_stopping_ = false;
  }
  for (auto& lane : lanes_) {
    {
      std::lock_guard lock{lane->mutex};
      lane->stopping = false;
    }
    lane->thread = std::thread([this, l = lane.get()] { run(*l); });
  }
  notifier_ = std::thread([this] { notify_loop(); });
}

void Recorder::stop() {
  for (auto& lane : lanes_) {
    {
      std::lock_guard lock{lane->mutex};
      lane->stopping = true;
    }
    lane->wake.notify_all();
  }
  for (auto& lane : lanes_) {
    if (lane->thread.joinable()) lane->thread.join();
  }
  {
    std::lock_guard lock{done_mutex_};
    done_stopping_ = true;
  }
  done_wake_.notify_all();
  if (notifier_.joinable()) notifier_.join();
}

void Recorder::write(ExecutionWrite w, Done done) {
  Lane& lane =
      *lanes_[lanes_.size() == 1 ? 0
                                 : std::hash<std::string_view>{}(w.execution.id) % lanes_.size()];
  {
    std::lock_guard lock{lane.mutex};
    lane.queue.push_back({std::move(w), std::move(done)});
    ++lane.handed_over;
  }
  lane.wake.notify_one();
}

bool Recorder::wait_written(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto& lane : lanes_) {
    std::unique_lock lock{lane->mutex};
    const std::uint64_t target = lane->handed_over;
    if (!lane->written_cv.wait_until(lock, deadline, [&] { return lane->written >= target; })) {
      return false;
    }
  }
  return true;
}

void Recorder::run(Lane& lane) {
  std::unique_lock lock{lane.mutex};
  for (;;) {
    lane.wake.wait(lock, [&] { return lane.stopping || !lane.queue.empty(); });
    if (lane.queue.empty()) return;  // stopping, and everything is written
    std::vector<Item> batch;
    batch.swap(lane.queue);
    lock.unlock();

    // Fold state changes that one transaction would write over each other: when an
    // execution went from running to success while the last batch was being written, only
    // its newest state is written (it carries everything the older one did).
    std::unordered_map<std::string_view, std::size_t> newest;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].write.kind == ExecutionWrite::Kind::update) {
        newest[batch[i].write.execution.id] = i;
      }
    }
    std::vector<std::size_t> slot(batch.size());  // which write carries item i
    std::vector<ExecutionWrite> writes;
    writes.reserve(batch.size());
    std::vector<std::size_t> written_as(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& w = batch[i].write;
      slot[i] = w.kind == ExecutionWrite::Kind::update ? newest[w.execution.id] : i;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (slot[i] != i) continue;
      written_as[i] = writes.size();
      writes.push_back(std::move(batch[i].write));  // `newest` is not read after this
    }
    for (std::size_t i = 0; i < batch.size(); ++i)
      slot[i] = written_as[slot[i]];
    std::vector<bool> results;
    // A failing store (disk full, read-only file) loses nothing: keep the batch and try
    // again, backing off, until it is written or we are told to stop.
    for (int attempt = 0;; ++attempt) {
      try {
        results = store_.write_executions(writes);
        healthy_ = true;
        break;
      } catch (const StoreError& e) {
        {
          std::lock_guard failure_lock{failure_mutex_};
          failure_ = e.what();
        }
        healthy_ = false;
        lock.lock();
        bool give_up = lane.stopping && attempt >= 5;
        lock.unlock();
        if (give_up) {
          results.assign(writes.size(), false);
          break;
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds{std::min(100 << std::min(attempt, 5), 3000)});
      }
    }
    {
      std::lock_guard done_lock{done_mutex_};
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].done) completed_.push_back({std::move(batch[i].done), results[slot[i]]});
      }
    }
    done_wake_.notify_one();

    lock.lock();
    lane.written += batch.size();
    lane.written_cv.notify_all();
  }
}

std::optional<std::string> Recorder::failure() const {
  if (healthy_) return std::nullopt;
  std::lock_guard lock{failure_mutex_};
  return failure_;
}

void Recorder::notify_loop() {
  std::unique_lock lock{done_mutex_};
  for (;;) {
    done_wake_.wait(lock, [&] { return done_stopping_ || !completed_.empty(); });
    if (completed_.empty()) return;  // stopping, and every callback has run
    std::vector<Completion> ready;
    ready.swap(completed_);
    lock.unlock();
    for (auto& c : ready)
      c.done(c.written);
    if (after_callbacks_) after_callbacks_();
    lock.lock();
  }
}

}  // namespace cronkit::engine
