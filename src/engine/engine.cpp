#include "engine/engine.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <future>
#include <iterator>
#include <limits>
#include <stdexcept>

#include "core/ids.h"

namespace cronkit::engine {
namespace {

using std::chrono::seconds;

constexpr Millis kDayMs = 86400000;
// How long every function worker may be busy without taking a new item before more are
// started (real time).
constexpr std::chrono::milliseconds kStallCheck{1};

Millis floor_seconds_ms(Millis t) {
  return (t >= 0 ? t / 1000 : (t - 999) / 1000) * 1000;
}

cron::Instant to_instant(Millis t) {
  return cron::Instant{seconds{floor_seconds_ms(t) / 1000}};
}

Millis to_millis(cron::Instant t) {
  return t.time_since_epoch().count() * 1000;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

}  // namespace

struct Engine::Slot {
  static constexpr Millis kNever = std::numeric_limits<Millis>::min();

  std::uint64_t generation = 0;
  Millis next = kNever;
  const std::string* task_id = nullptr;  // the key in index_; null when the slot is free
  const cron::Zone* zone = nullptr;      // zones stay loaded for the life of the process
  cron::CronExpr expr;
  bool catch_up = false;
  Millis held = kNever;  // an instant claimed ahead that has not started yet

  Millis next_after(Millis t) const {
    auto n = expr.next_after(to_instant(t), *zone);
    return n ? to_millis(*n) : kNever;
  }
};

struct Engine::Run {
  Execution exec;
  Task task;  // the definition when it was queued
  std::stop_source stop;
  std::uint64_t token = 0;     // changes with every attempt, timeout and cancellation
  std::uint64_t transfer = 0;  // the HTTP request of the current attempt
  // The task's schedule when this firing was claimed (0: not from the schedule).
  std::uint64_t generation = 0;
  enum class State { held, waiting, running, retry_wait } state = State::waiting;
  // In a cluster: the member that owns the row, and the engine's epoch when it was made.
  std::string owner;
  std::uint64_t epoch = 0;
};

struct Engine::Due {
  std::string task_id;
  Millis scheduled_for;
  Trigger trigger;
  std::uint64_t generation = 0;
};

Engine::Engine(Store& store, const Clock& clock, const Registry& registry, EngineOptions options)
    : store_(store),
      clock_(clock),
      registry_(registry),
      options_(std::move(options)),
      max_workers_(static_cast<std::size_t>(
          std::max(1, std::min(options_.max_concurrency, options_.max_function_threads)))),
      base_workers_(std::max<std::size_t>(2, 2 * std::thread::hardware_concurrency())),
      recorder_(store, store.writers()),
      cluster_(store.cluster()) {
  if (cluster_) member_ = cluster_->member_id();
}

Engine::~Engine() {
  stop();
}

// ---- lifecycle -------------------------------------------------------------------------

void Engine::start() {
  {
    std::lock_guard lock{mutex_};
    if (started_) return;
    started_ = true;
  }
  recorder_.start();
  http_.start();
  const Millis now = clock_.now();
  if (cluster_) {
    // What earlier runs of this server left is taken over like any silent member's (a
    // clean stop left at once; a crash after dead_after_ms), by whichever member is first.
    beat();
  } else {
    store_.fail_running(now, "interrupted by restart");
    adopt(store_.queued_executions());
  }
  std::vector<Due> due;
  {
    const std::vector<ScheduleSpec> specs = store_.enabled_schedules();
    std::lock_guard lock{mutex_};
    // A million tasks must not pay for containers grown by doubling.
    slots_.reserve(specs.size());
    index_.reserve(specs.size());
    std::vector<HeapEntry> entries;
    entries.reserve(specs.size());
    heap_ = decltype(heap_){std::greater<>{}, std::move(entries)};
    due = load_locked(specs, now);
  }
  // Drop catch-ups whose instant already has an execution.
  std::erase_if(due, [&](const Due& d) {
    auto latest = store_.latest_scheduled_for(d.task_id);
    return latest && *latest >= d.scheduled_for;
  });
  dispatch(std::move(due));
  {
    std::lock_guard lock{mutex_};
    next_cleanup_ = now;
  }
  scheduler_ = std::thread([this] { scheduler_loop(); });
  if (cluster_) {
    task_watch_ = cluster_->watch_tasks([this](const std::string& id) { task_changed(id); });
    cluster_thread_ = std::thread([this] { cluster_loop(); });
  }
}

std::vector<Engine::Due> Engine::load_locked(const std::vector<ScheduleSpec>& specs, Millis now) {
  std::vector<Due> catch_ups;
  // Tasks share a handful of patterns and zones: parse each once.
  std::unordered_map<std::string, std::optional<cron::CronExpr>> patterns;
  std::unordered_map<std::string, const cron::Zone*> zones;
  for (const auto& spec : specs) {
    auto p = patterns.find(spec.cron_expression);
    if (p == patterns.end()) {
      auto parsed = cron::CronExpr::parse(spec.cron_expression);
      p = patterns.emplace(spec.cron_expression, parsed ? std::optional{*parsed} : std::nullopt)
              .first;
    }
    auto z = zones.find(spec.timezone);
    if (z == zones.end()) {
      auto found = cron::Zone::find(spec.timezone);
      z = zones.emplace(spec.timezone, found ? found->get() : nullptr).first;
    }
    // Stored before validation got stricter: skipped here; the API reports it.
    if (!p->second || !z->second) continue;
    add_slot_locked(spec.id, *p->second, z->second, spec.catch_up, now);
    if (!spec.catch_up) continue;
    // Catch up once: the latest instant before now, if it came after the task was created
    // and nothing ran for it (or for any later instant).
    auto last = p->second->prev_before(to_instant(now) + seconds{1}, *z->second);
    if (last && to_millis(*last) > spec.created_at) {
      catch_ups.push_back({spec.id, to_millis(*last), Trigger::catch_up});
    }
  }
  return catch_ups;
}

void Engine::stop() {
  {
    std::lock_guard lock{mutex_};
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  cluster_wake_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  if (cluster_thread_.joinable()) cluster_thread_.join();
  task_watch_.reset();
  {
    Lock lock{mutex_};
    runs_changed_.wait_for(lock, std::chrono::milliseconds{options_.shutdown_grace_ms},
                           [&] { return running_ == 0; });
    // Whatever still runs, or waits to retry, is interrupted; what waits for a slot stays
    // queued in the store and runs at the next start.
    std::vector<std::shared_ptr<Run>> rest;
    for (auto& [id, run] : runs_) {
      if (run->state != Run::State::waiting && run->state != Run::State::held) {
        rest.push_back(run);
      }
    }
    for (auto& run : rest) {
      if (run->state == Run::State::running) --running_;
      cancel_locked(*run);
      finish_locked(run, ExecutionStatus::failed, "interrupted by shutdown");
    }
    ready_.clear();
    work_.clear();
  }
  work_ready_.notify_all();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  http_.stop();
  recorder_.stop();
  if (cluster_) {
    try {
      // What waits here is taken over by the other members at once.
      cluster_->leave();
    } catch (const StoreError&) {
      // Then they take it over once this member's heartbeat is old enough.
    }
  }
}

// ---- tasks -----------------------------------------------------------------------------

void Engine::schedule(const Task& task) {
  auto expr = cron::CronExpr::parse(task.cron_expression);
  if (!expr) throw std::invalid_argument("cronExpression: " + expr.error().describe());
  auto zone = cron::Zone::find(task.timezone);
  if (!zone) throw std::invalid_argument("timezone: " + zone.error());
  const Millis now = clock_.now();
  std::lock_guard lock{mutex_};
  if (!task.enabled) {
    free_slot_locked(task.id);
    return;
  }
  add_slot_locked(task.id, std::move(*expr), zone->get(), task.catch_up, now);
}

void Engine::add_slot_locked(const std::string& task_id, cron::CronExpr expr,
                             const cron::Zone* zone, bool catch_up, Millis now) {
  auto [it, added] = index_.try_emplace(task_id, 0);
  if (added) {
    if (free_slots_.empty()) {
      it->second = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      it->second = free_slots_.back();
      free_slots_.pop_back();
    }
  }
  Slot& slot = slots_[it->second];
  slot.task_id = &it->first;
  slot.expr = std::move(expr);
  slot.zone = zone;
  slot.catch_up = catch_up;
  slot.generation = next_generation_++;
  slot.held = Slot::kNever;  // a held firing is checked against the new schedule when due
  slot.next = slot.next_after(now);
  if (slot.next != Slot::kNever) heap_.push({slot.next, slot.generation, it->second});
  ++schedule_version_;
  wake_.notify_one();
}

void Engine::free_slot_locked(std::string_view task_id) {
  auto it = index_.find(std::string(task_id));
  if (it == index_.end()) return;
  // Stale heap entries keep pointing here; the generation stops them from firing.
  slots_[it->second] = Slot{};
  free_slots_.push_back(it->second);
  index_.erase(it);
  ++schedule_version_;
}

void Engine::unschedule(std::string_view task_id) {
  std::lock_guard lock{mutex_};
  free_slot_locked(task_id);
}

std::string Engine::trigger(const Task& task) {
  const Millis now = clock_.now();
  auto run = std::make_shared<Run>();
  bool started = false;
  {
    std::lock_guard lock{mutex_};
    started = started_ && !stopping_;
    if (cluster_ && !lease_valid_locked()) {
      throw StoreError("this server cannot reach the database: it starts nothing until it can");
    }
    run->owner = member_;
    run->epoch = epoch_;
  }
  run->exec.id = new_id(now);
  run->exec.task_id = task.id;
  run->exec.trigger = Trigger::manual;
  run->exec.scheduled_for = now;
  run->exec.queued_at = now;
  run->exec.node_id = options_.node_id;
  run->task = task;
  std::string id = run->exec.id;
  if (auto failure = recorder_.failure()) {
    throw StoreError("execution records cannot be written now: " + *failure);
  }
  // The answer waits for the commit: an execution reported as accepted is stored, so it is
  // readable at once and survives the process. (Before start() it is written at start.)
  auto stored = std::make_shared<std::promise<bool>>();
  auto answer = stored->get_future();
  recorder_.write(write_of(*run, ExecutionWrite::Kind::insert), [this, run, stored](bool written) {
    if (written) {
      std::lock_guard lock{mutex_};
      // A member that started over leaves it to the others to take over.
      if (run->epoch == epoch_) {
        if (options_.on_change) options_.on_change(run->exec);
        enqueue_locked(run);
      }
    }
    stored->set_value(written);
  });
  if (!started) return id;
  if (answer.wait_for(std::chrono::seconds{5}) != std::future_status::ready) {
    throw StoreError(
        "the database did not confirm the execution within 5 s; it is kept and runs once "
        "written");
  }
  if (!answer.get()) throw StoreError("the execution could not be stored");
  return id;
}

EngineCounters Engine::counters() const {
  std::lock_guard lock{mutex_};
  EngineCounters c;
  c.scheduled_tasks = static_cast<std::int64_t>(index_.size());
  c.running = running_;
  c.held = held_;
  c.waiting = static_cast<std::int64_t>(runs_.size()) - running_ - held_;
  c.cluster_members = static_cast<std::int64_t>(members_.size());
  c.taken_over = taken_over_;
  return c;
}

std::optional<Millis> Engine::next_run(std::string_view task_id) const {
  return next_runs(std::span{&task_id, 1})[0];
}

std::vector<std::optional<Millis>> Engine::next_runs(
    std::span<const std::string_view> task_ids) const {
  std::vector<std::optional<Millis>> out(task_ids.size());
  std::lock_guard lock{mutex_};
  for (std::size_t i = 0; i < task_ids.size(); ++i) {
    auto it = index_.find(task_ids[i]);
    if (it == index_.end()) continue;
    const Slot& slot = slots_[it->second];
    Millis next = slot.held != Slot::kNever ? slot.held : slot.next;
    if (next != Slot::kNever) out[i] = next;
  }
  return out;
}

// ---- firing ----------------------------------------------------------------------------

void Engine::scheduler_loop() {
  Lock lock{mutex_};
  while (!stopping_) {
    const Millis now = clock_.now();
    std::vector<Due> due;
    // Cut off from the database (in a cluster, no heartbeat within the lease): claim
    // nothing, and look at an instant only when it comes, in case the lease returns first.
    const bool cut_off = cluster_ && !lease_valid_locked();
    const Millis ahead = cut_off ? 0 : options_.queue_ahead_ms;
    while (!heap_.empty() && heap_.top().at <= now + ahead) {
      HeapEntry entry = heap_.top();
      heap_.pop();
      Slot& slot = slots_[entry.slot];
      if (slot.generation != entry.generation || !slot.task_id) continue;
      const std::string& task_id = *slot.task_id;
      if (now - entry.at > options_.misfire_grace_ms) {
        // Missed (the clock jumped forward, or we were stopped): catch-up tasks run once
        // for the latest missed instant; others wait for their next one.
        if (slot.catch_up) {
          auto last = slot.expr.prev_before(to_instant(now) + seconds{1}, *slot.zone);
          if (last) due.push_back({task_id, to_millis(*last), Trigger::catch_up});
        }
        slot.next = slot.next_after(now);
      } else {
        if (cut_off) {
          // The others claim what they can; catch-up tasks run once for the latest such
          // instant when the lease returns.
          if (slot.catch_up) missed_[task_id] = entry.at;
        } else if (cluster_ && !owns_locked(task_id, entry.at)) {
          watches_.push_back({task_id, entry.at, slot.generation});
        } else {
          due.push_back({task_id, entry.at, Trigger::schedule, slot.generation});
          if (entry.at > now && (slot.held == Slot::kNever || entry.at < slot.held)) {
            slot.held = entry.at;
          }
        }
        // From the scheduled instant, not from now: a late wake-up neither drifts nor skips.
        slot.next = slot.next_after(entry.at);
      }
      if (slot.next != Slot::kNever) heap_.push({slot.next, slot.generation, entry.slot});
      ++schedule_version_;
    }
    while (!timers_.empty() && timers_.top().at <= now) {
      Timer t = timers_.top();
      timers_.pop();
      on_timer_locked(t);
    }
    const bool stalled = grow_workers_locked();
    const bool cleanup = now >= next_cleanup_;
    if (cleanup) next_cleanup_ = now + kDayMs;
    if (!due.empty() || cleanup) {
      lock.unlock();
      if (cleanup) {
        try {
          store_.delete_successful_before(now - options_.log_retention_days * kDayMs);
        } catch (const StoreError&) {
          // Retried tomorrow; a failing store shows in readiness, not here.
        }
      }
      dispatch(std::move(due));
      lock.lock();
      continue;
    }
    Millis until = next_cleanup_;
    if (!heap_.empty()) until = std::min(until, heap_.top().at - ahead);
    if (!timers_.empty()) until = std::min(until, timers_.top().at);
    if (stalled) {
      // Function handlers block and work waits for a worker that may still be added: look
      // again soon on the real clock, whatever the task clock says.
      wake_.wait_for(lock, kStallCheck);
      continue;
    }
    clock_.wait_until(lock, wake_, until);
  }
}

void Engine::dispatch(std::vector<Due> due) {
  if (due.empty()) return;
  const Millis now = clock_.now();
  std::unordered_map<std::string, Task, IdHash, std::equal_to<>> tasks;
  try {
    std::vector<std::string_view> ids;
    ids.reserve(due.size());
    for (const auto& d : due)
      ids.push_back(d.task_id);
    for (auto& t : store_.get_tasks(ids)) {
      std::string id = t.id;
      tasks.emplace(std::move(id), std::move(t));
    }
  } catch (const StoreError&) {
    return;  // cannot read the definitions: the firings are missed, and catch-up covers them
  }
  std::string owner;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock{mutex_};
    owner = member_;
    epoch = epoch_;
  }
  for (auto& d : due) {
    auto found = tasks.find(d.task_id);
    if (found == tasks.end() || !found->second.enabled) continue;
    auto run = std::make_shared<Run>();
    run->owner = owner;
    run->epoch = epoch;
    run->exec.id = new_id(now);
    run->exec.task_id = d.task_id;
    run->exec.trigger = d.trigger;
    run->exec.scheduled_for = d.scheduled_for;
    run->exec.queued_at = now;
    run->exec.node_id = options_.node_id;
    run->task = found->second;  // a task may fire twice in one batch
    run->generation = d.generation;
    // Run only once the row is stored: the claim on (task, instant) decides.
    recorder_.write(write_of(*run, ExecutionWrite::Kind::insert), [this, run](bool written) {
      if (!written) return;
      std::lock_guard lock{mutex_};
      if (run->epoch != epoch_) return;  // this member started over: others take it over
      claimed_locked(run);
    });
  }
}

void Engine::claimed_locked(std::shared_ptr<Run> run) {
  if (stopping_) return;  // stays queued in the store for the next start
  if (options_.on_change) options_.on_change(run->exec);
  if (run->exec.scheduled_for <= clock_.now()) {
    release_locked(run);
    return;
  }
  run->state = Run::State::held;
  ++held_;
  runs_[run->exec.id] = run;
  timers_.push({run->exec.scheduled_for, Timer::Kind::due, run->exec.id, run->token});
  wake_.notify_one();
}

void Engine::release_locked(const std::shared_ptr<Run>& run) {
  if (run->state == Run::State::held) {
    --held_;
    run->state = Run::State::waiting;  // stays in runs_: enqueue_locked keeps it there
  }
  if (run->generation != 0) {
    // Claimed from the schedule: if the task changed since, run it only if it still fires
    // at this instant, with its definition as it is now.
    auto it = index_.find(run->task.id);
    Slot* slot = it == index_.end() ? nullptr : &slots_[it->second];
    if (slot && slot->held == run->exec.scheduled_for) {
      slot->held = Slot::kNever;
      ++schedule_version_;
    }
    if (!slot || slot->generation != run->generation) {
      const cron::Instant at = to_instant(run->exec.scheduled_for);
      std::optional<Task> task;
      if (slot && slot->expr.next_after(at - seconds{1}, *slot->zone) == at) {
        try {
          task = store_.get_task(run->task.id);
        } catch (const StoreError&) {
          // Cannot read the new definition: the old one is what was claimed; run that.
          task = run->task;
        }
      }
      if (!task || !task->enabled) {
        runs_.erase(run->exec.id);
        run->exec.status = ExecutionStatus::skipped;
        run->exec.finished_at = clock_.now();
        run->exec.result_summary = "skipped: the task was changed or disabled before its instant";
        record(*run);
        return;
      }
      run->task = std::move(*task);
    }
  }
  enqueue_locked(run);
}

// ---- running ---------------------------------------------------------------------------

void Engine::enqueue_locked(std::shared_ptr<Run> run) {
  if (stopping_) return;  // stays queued in the store for the next start
  const Millis now = clock_.now();
  auto& active = active_[run->task.id];
  if (!active.empty() && run->task.overlap_policy == OverlapPolicy::skip) {
    run->exec.status = ExecutionStatus::skipped;
    run->exec.finished_at = now;
    run->exec.result_summary = "skipped: execution " + *active.begin() + " is still running";
    record(*run);
    runs_.erase(run->exec.id);  // if it was held there
    return;
  }
  if (!active.empty() && run->task.overlap_policy == OverlapPolicy::replace) {
    for (const auto& id : std::vector<std::string>(active.begin(), active.end())) {
      auto it = runs_.find(id);
      if (it == runs_.end()) continue;
      auto other = it->second;
      if (other->state == Run::State::running) --running_;
      if (other->state == Run::State::waiting) std::erase(ready_, other);
      cancel_locked(*other);
      finish_locked(other, ExecutionStatus::failed, "replaced by execution " + run->exec.id);
    }
  }
  active_[run->task.id].insert(run->exec.id);
  runs_[run->exec.id] = run;
  run->state = Run::State::waiting;
  ready_.push_back(std::move(run));
  pump_locked();
}

void Engine::pump_locked() {
  if (stopping_) return;  // shutting down: let what runs finish, start nothing new
  if (cluster_ && !lease_valid_locked()) return;  // started again by beat() when it returns
  while (running_ < options_.max_concurrency && !ready_.empty()) {
    auto run = ready_.front();
    ready_.pop_front();
    start_attempt_locked(run);
  }
}

void Engine::start_attempt_locked(const std::shared_ptr<Run>& run) {
  const Millis now = clock_.now();
  run->state = Run::State::running;
  ++running_;
  ++run->token;
  run->stop = std::stop_source{};
  run->exec.attempts += 1;
  if (!run->exec.started_at) run->exec.started_at = now;
  run->exec.status = ExecutionStatus::running;
  if (!cluster_) {
    record(*run);
    launch_locked(run);
    return;
  }
  // In a cluster the attempt starts only once `running` is stored under this member: a
  // member that takes over after a crash then knows what may have started (running: it is
  // interrupted, or retried) and what surely did not (queued: it runs).
  if (options_.on_change) options_.on_change(run->exec);
  recorder_.write(
      write_of(*run, ExecutionWrite::Kind::update), [this, run, token = run->token](bool written) {
        std::lock_guard lock{mutex_};
        if (run->epoch != epoch_ || run->token != token || run->state != Run::State::running) {
          return;  // timed out, replaced or abandoned meanwhile
        }
        if (written) {
          launch_locked(run);
          return;
        }
        // No longer this member's (taken over) or gone: not run here.
        --running_;
        forget_locked(*run);
        pump_locked();
      });
}

void Engine::launch_locked(const std::shared_ptr<Run>& run) {
  const Millis now = clock_.now();
  timers_.push({now + run->task.timeout_seconds * Millis{1000}, Timer::Kind::deadline, run->exec.id,
                run->token});
  wake_.notify_one();
  if (run->task.type == TaskType::http) {
    const Task& t = run->task;
    HttpRequest req;
    req.method = t.http_method.value_or("GET");
    req.url = t.http_url.value_or("");
    req.headers_json = t.http_headers.value_or("");
    req.body = t.http_body.value_or("");
    req.timeout_ms = t.timeout_seconds * Millis{1000};
    req.task_id = t.id;
    req.execution_id = run->exec.id;
    req.scheduled_for = run->exec.scheduled_for;
    run->transfer = next_transfer_++;
    http_.submit(run->transfer, std::move(req), [this, run, token = run->token](HttpResult r) {
      attempt_done(run, token,
                   {r.ok, true, r.timed_out, std::move(r.summary), std::move(r.output)});
    });
    return;
  }
  if (work_.empty()) progress_ = std::chrono::steady_clock::now();
  work_.emplace_back(run, run->token);
  // Idle workers take everything queued before they wait again: wake one per item only
  // while there are idle ones for it (a burst of 10,000 items must not make 10,000 system
  // calls). Beyond a few threads per core, more threads come only when the handlers stall
  // (grow_workers_locked): short handlers run fastest on few threads.
  if (work_.size() <= static_cast<std::size_t>(idle_workers_)) {
    work_ready_.notify_one();
  } else if (workers_.size() < std::min(base_workers_, max_workers_)) {
    workers_.emplace_back([this] { worker_loop(); });
  } else {
    wake_.notify_one();
  }
}

bool Engine::grow_workers_locked() {
  if (work_.empty() || idle_workers_ > 0 || workers_.size() >= max_workers_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - progress_ < kStallCheck) return true;
  // Every worker is busy and none has taken an item for a while: the handlers block
  // (sleep, I/O). Double the workers, so that 256 are reached within a few milliseconds.
  const std::size_t add =
      std::min(max_workers_ - workers_.size(), std::max<std::size_t>(workers_.size(), 1));
  for (std::size_t i = 0; i < add; ++i)
    workers_.emplace_back([this] { worker_loop(); });
  progress_ = now;
  return true;
}

void Engine::cancel_locked(Run& run) {
  run.stop.request_stop();
  ++run.token;
  if (run.transfer) http_.cancel(run.transfer);
}

void Engine::worker_loop() {
  Lock lock{mutex_};
  for (;;) {
    ++idle_workers_;
    work_ready_.wait(lock, [&] { return stopping_ || !work_.empty(); });
    --idle_workers_;
    if (work_.empty()) return;
    auto [run, token] = std::move(work_.front());
    work_.pop_front();
    progress_ = std::chrono::steady_clock::now();
    // What the handler sees; the run itself may change meanwhile.
    const Task task = run->task;
    const std::string execution_id = run->exec.id;
    const int attempt = run->exec.attempts;
    const Millis scheduled_for = run->exec.scheduled_for;
    const std::stop_token stop = run->stop.get_token();
    const Millis deadline = clock_.now() + task.timeout_seconds * Millis{1000};
    lock.unlock();

    Outcome outcome;
    if (TaskFunction fn = registry_.find(task.function_name.value_or(""))) {
      boost::system::error_code ec;
      boost::json::value payload;
      if (task.function_payload && !task.function_payload->empty()) {
        payload = boost::json::parse(*task.function_payload, ec);
      }
      if (ec) {
        outcome = {false, false, false, "functionPayload is not valid JSON: " + ec.message(), {}};
      } else {
        using std::chrono::milliseconds;
        using std::chrono::system_clock;
        TaskContext ctx{.payload = payload,
                        .task_id = task.id,
                        .task_name = task.name,
                        .execution_id = execution_id,
                        .attempt = attempt,
                        .scheduled_for = system_clock::time_point{milliseconds{scheduled_for}},
                        .deadline = system_clock::time_point{milliseconds{deadline}},
                        .stop = stop};
        try {
          TaskResult r = fn(ctx);
          outcome = {r.success, true, false, std::move(r.message), {}};
        } catch (const std::exception& e) {
          outcome = {false, true, false, e.what(), {}};
        } catch (...) {
          outcome = {
              false, true, false, "the function threw something that is not a std::exception", {}};
        }
      }
    } else {
      outcome = {false,
                 false,
                 false,
                 "function '" + task.function_name.value_or("") +
                     "' is not registered; registered functions: " + join(registry_.names()),
                 {}};
    }
    attempt_done(run, token, std::move(outcome));
    lock.lock();
  }
}

void Engine::attempt_done(const std::shared_ptr<Run>& run, std::uint64_t token, Outcome outcome) {
  std::lock_guard lock{mutex_};
  // A completion after a timeout or a replacement belongs to an attempt already recorded.
  if (run->token != token || run->state != Run::State::running) return;
  --running_;
  run->transfer = 0;
  if (outcome.output) run->exec.output = std::move(outcome.output);
  if (outcome.ok) {
    finish_locked(run, ExecutionStatus::success, std::move(outcome.message));
  } else if (!outcome.retryable) {
    // Retrying cannot help (no such function, bad payload).
    finish_locked(run, ExecutionStatus::failed, std::move(outcome.message));
  } else {
    attempt_failed_locked(
        run, outcome.timed_out ? ExecutionStatus::timed_out : ExecutionStatus::failed,
        outcome.message.empty() ? "the function reported failure" : std::move(outcome.message));
  }
  pump_locked();
}

void Engine::attempt_failed_locked(const std::shared_ptr<Run>& run, ExecutionStatus final_status,
                                   std::string message) {
  if (run->exec.attempts <= run->task.max_retries && !stopping_) {
    run->state = Run::State::retry_wait;
    run->exec.error_message = message;
    record(*run);
    timers_.push({clock_.now() + run->task.retry_delay_seconds * Millis{1000}, Timer::Kind::retry,
                  run->exec.id, run->token});
    wake_.notify_one();
    return;
  }
  finish_locked(run, final_status, std::move(message));
}

void Engine::on_timer_locked(const Timer& t) {
  auto it = runs_.find(t.execution_id);
  if (it == runs_.end() || it->second->token != t.token) return;
  auto run = it->second;
  if (t.kind == Timer::Kind::deadline && run->state == Run::State::running) {
    // Ask the handler to stop and record the timeout now, whether or not it listens.
    cancel_locked(*run);
    run->transfer = 0;
    --running_;
    attempt_failed_locked(run, ExecutionStatus::timed_out,
                          "timed out after " + std::to_string(run->task.timeout_seconds) + " s");
    pump_locked();
  } else if (t.kind == Timer::Kind::due && run->state == Run::State::held) {
    release_locked(run);
  } else if (t.kind == Timer::Kind::retry && run->state == Run::State::retry_wait) {
    run->state = Run::State::waiting;
    ready_.push_back(run);
    pump_locked();
  }
}

void Engine::finish_locked(const std::shared_ptr<Run>& run, ExecutionStatus status,
                           std::string message) {
  const Millis now = clock_.now();
  run->exec.status = status;
  run->exec.finished_at = now;
  if (run->exec.started_at) run->exec.duration_ms = now - *run->exec.started_at;
  if (status == ExecutionStatus::success) {
    run->exec.result_summary = std::move(message);
    run->exec.error_message.reset();
  } else {
    run->exec.error_message = std::move(message);
  }
  record(*run);
  forget_locked(*run);
}

void Engine::forget_locked(const Run& run) {
  const std::string id = run.exec.id;  // `run` may live only in runs_
  auto active = active_.find(run.task.id);
  if (active != active_.end()) {
    active->second.erase(id);
    if (active->second.empty()) active_.erase(active);
  }
  runs_.erase(id);
  runs_changed_.notify_all();
}

void Engine::record(const Run& run) {
  recorder_.write(write_of(run, ExecutionWrite::Kind::update));
  if (options_.on_change) options_.on_change(run.exec);
}

ExecutionWrite Engine::write_of(const Run& run, ExecutionWrite::Kind kind) const {
  return {kind, run.exec, run.owner};
}

// ---- recovery and cluster --------------------------------------------------------------

void Engine::adopt(std::vector<Execution> queued) {
  if (queued.empty()) return;
  std::vector<std::string_view> ids;
  ids.reserve(queued.size());
  for (const auto& e : queued)
    ids.push_back(e.task_id);
  std::unordered_map<std::string, Task, IdHash, std::equal_to<>> tasks;
  for (auto& t : store_.get_tasks(ids)) {
    std::string id = t.id;
    tasks.emplace(std::move(id), std::move(t));
  }
  std::lock_guard lock{mutex_};
  for (auto& e : queued) {
    auto it = tasks.find(e.task_id);
    if (it == tasks.end()) continue;  // deleted, with its executions
    auto run = std::make_shared<Run>();
    run->exec = std::move(e);
    run->exec.node_id = options_.node_id;
    run->task = it->second;
    run->owner = member_;
    run->epoch = epoch_;
    claimed_locked(std::move(run));  // one claimed ahead of its instant waits for it
  }
}

bool Engine::ready() const {
  std::lock_guard lock{mutex_};
  return !cluster_ || lease_valid_locked();
}

bool Engine::lease_valid_locked() const {
  return last_beat_ != std::chrono::steady_clock::time_point{} &&
         std::chrono::steady_clock::now() - last_beat_ <
             std::chrono::milliseconds{options_.lease_ms};
}

namespace {

std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t fnv1a(std::string_view s) {  // the same on every member and every build
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

bool Engine::owns_locked(std::string_view task_id, Millis at) const {
  if (members_.size() <= 1) return true;
  // Rendezvous hashing: each firing goes to one member, firings spread evenly, and when a
  // member comes or goes only the firings that were or become its own move.
  const std::uint64_t firing = mix64(fnv1a(task_id) ^ mix64(static_cast<std::uint64_t>(at)));
  const std::string* best = nullptr;
  std::uint64_t best_score = 0;
  for (const auto& m : members_) {
    const std::uint64_t score = mix64(fnv1a(m) ^ firing);
    if (!best || score > best_score) {
      best = &m;
      best_score = score;
    }
  }
  return *best == member_;
}

void Engine::abandon_locked() {
  ++epoch_;
  for (auto& [id, run] : runs_)
    cancel_locked(*run);  // late results are ignored (tokens moved on)
  runs_.clear();
  active_.clear();
  ready_.clear();
  work_.clear();
  running_ = 0;
  held_ = 0;
  for (auto& slot : slots_)
    slot.held = Slot::kNever;
  watches_.clear();
  ++schedule_version_;
  runs_changed_.notify_all();
}

void Engine::cluster_loop() {
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    next += std::chrono::milliseconds{options_.heartbeat_ms};
    {
      Lock lock{mutex_};
      if (cluster_wake_.wait_until(lock, next, [&] { return stopping_; })) return;
    }
    next = std::max(next, std::chrono::steady_clock::now());  // a slow beat: none to make up
    beat();
  }
}

void Engine::beat() {
  using std::chrono::milliseconds;
  using std::chrono::steady_clock;
  auto sent = steady_clock::now();
  std::vector<std::string> alive;
  try {
    alive = cluster_->heartbeat(options_.node_id, options_.dead_after_ms);
    bool start_over = false;
    {
      std::lock_guard lock{mutex_};
      // Others take over a member silent for dead_after_ms (by the database's clock, which
      // saw each heartbeat after it was sent): from one interval before that, this member
      // assumes they did, forgets its work and starts over under a new id.
      start_over = last_beat_ != steady_clock::time_point{} &&
                   steady_clock::now() - last_beat_ >
                       milliseconds{options_.dead_after_ms - options_.heartbeat_ms};
      if (start_over) abandon_locked();
    }
    if (start_over) {
      // What this member finished is written under its old id first (nobody else may have
      // taken it over yet); then its unfinished rows are taken over like any silent member's.
      recorder_.wait_written(std::chrono::seconds{2});
      cluster_->rejoin();
      {
        std::lock_guard lock{mutex_};
        member_ = cluster_->member_id();
      }
      sent = steady_clock::now();
      alive = cluster_->heartbeat(options_.node_id, options_.dead_after_ms);
    }
  } catch (const StoreError&) {
    return;  // the lease runs out by itself: nothing starts until a heartbeat gets through
  }
  std::vector<Due> due;
  {
    std::lock_guard lock{mutex_};
    last_beat_ = sent;
    members_ = std::move(alive);
    if (!std::ranges::binary_search(members_, member_)) {
      members_.insert(std::ranges::lower_bound(members_, member_), member_);
    }
    // Catch-up tasks that fired while the lease was out run once for their latest instant.
    for (auto& [task_id, at] : missed_)
      due.push_back({task_id, at, Trigger::catch_up});
    missed_.clear();
    pump_locked();       // what waited for the lease
    wake_.notify_one();  // the scheduler claims ahead again
  }

  try {
    Takeover taken = cluster_->take_over(options_.dead_after_ms, clock_.now(),
                                         "interrupted: its server stopped responding");
    std::lock_guard lock{mutex_};
    taken_over_ += static_cast<std::int64_t>(taken.queued.size() + taken.interrupted.size());
    if (options_.on_change) {
      for (const auto& e : taken.interrupted)
        options_.on_change(e);
    }
    std::ranges::move(taken.queued, std::back_inserter(to_adopt_));
  } catch (const StoreError&) {
    // Taken over at a later heartbeat, by this member or another.
  }
  if (!to_adopt_.empty()) {
    try {
      adopt(std::exchange(to_adopt_, {}));
    } catch (const StoreError&) {
      // adopt() read nothing: try again at the next heartbeat. (The rows are this member's:
      // nobody else runs them while it is alive.)
    }
  }
  if (reload_.exchange(false)) task_changed("");

  // Firings owned by others, checked once backup_after_ms have passed: claimed here if
  // nobody did (their owner died or never knew of the task).
  std::vector<Watch> watched;
  {
    std::lock_guard lock{mutex_};
    const Millis now = clock_.now();
    while (!watches_.empty() && watches_.front().at + options_.backup_after_ms <= now) {
      watched.push_back(std::move(watches_.front()));
      watches_.pop_front();
    }
  }
  if (!watched.empty()) {
    std::vector<Firing> firings;
    firings.reserve(watched.size());
    for (const auto& w : watched)
      firings.push_back({w.task_id, w.at});
    try {
      auto claimed = cluster_->claimed(firings);
      for (std::size_t i = 0; i < watched.size(); ++i) {
        if (!claimed[i]) {
          due.push_back(
              {watched[i].task_id, watched[i].at, Trigger::schedule, watched[i].generation});
        }
      }
    } catch (const StoreError&) {
      std::lock_guard lock{mutex_};
      watches_.insert(watches_.begin(), std::make_move_iterator(watched.begin()),
                      std::make_move_iterator(watched.end()));
    }
  }
  dispatch(std::move(due));
}

void Engine::task_changed(const std::string& task_id) {
  try {
    if (task_id.empty()) {
      // Changes were missed: every task's schedule is read again.
      const std::vector<ScheduleSpec> specs = store_.enabled_schedules();
      std::unordered_set<std::string_view> enabled;
      for (const auto& spec : specs)
        enabled.insert(spec.id);
      std::lock_guard lock{mutex_};
      std::vector<std::string> gone;
      for (const auto& [id, slot] : index_) {
        if (!enabled.contains(id)) gone.push_back(id);
      }
      for (const auto& id : gone)
        free_slot_locked(id);
      load_locked(specs, clock_.now());  // missed instants are the backups' to claim
      return;
    }
    if (auto task = store_.get_task(task_id)) {
      schedule(*task);
    } else {
      unschedule(task_id);
    }
  } catch (const StoreError&) {
    reload_ = true;  // at the next heartbeat
  } catch (const std::invalid_argument&) {
    // Stored before validation got stricter: not scheduled; the API reports it.
  }
}

}  // namespace cronkit::engine
