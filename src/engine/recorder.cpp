#include "engine/recorder.h"

#include <chrono>
#include <string_view>
#include <unordered_map>

namespace cronkit::engine {

Recorder::Recorder(Store& store) : store_(store) {}

Recorder::~Recorder() {
  stop();
}

void Recorder::start() {
  std::lock_guard lock{mutex_};
  if (thread_.joinable()) return;
  stopping_ = false;
  {
    std::lock_guard done_lock{done_mutex_};
    done_stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  notifier_ = std::thread([this] { notify_loop(); });
}

void Recorder::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock{done_mutex_};
    done_stopping_ = true;
  }
  done_wake_.notify_all();
  if (notifier_.joinable()) notifier_.join();
}

void Recorder::write(ExecutionWrite w, Done done) {
  {
    std::lock_guard lock{mutex_};
    queue_.push_back({std::move(w), std::move(done)});
    ++handed_over_;
  }
  wake_.notify_one();
}

void Recorder::run() {
  std::unique_lock lock{mutex_};
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    std::vector<Item> batch;
    batch.swap(queue_);
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
      } catch (const StoreError&) {
        healthy_ = false;
        lock.lock();
        bool give_up = stopping_ && attempt >= 5;
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
    written_ += batch.size();
    written_cv_.notify_all();
  }
}

bool Recorder::wait_written(std::chrono::milliseconds timeout) {
  std::unique_lock lock{mutex_};
  const std::uint64_t target = handed_over_;
  return written_cv_.wait_for(lock, timeout, [&] { return written_ >= target; });
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
    lock.lock();
  }
}

}  // namespace cronkit::engine
