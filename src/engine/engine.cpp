#include "engine/engine.h"

#include <algorithm>
#include <cmath>
#include <future>
#include <span>
#include <stdexcept>
#include <utility>

#include "core/alerts.h"
#include "core/ids.h"
#include "engine/task_service.h"

namespace cronkit::engine {
namespace {

constexpr Millis kDayMs = 86400000;
constexpr Millis kNoWake = std::numeric_limits<Millis>::max();

// The current definitions of tasks, by id, each shared by the runs made from it. Throws
// StoreError.
using Definitions = std::unordered_map<std::string, std::shared_ptr<const Task>>;
Definitions read_definitions(Store& store, std::span<const std::string_view> ids) {
  Definitions out;
  for (auto& t : store.get_tasks(ids)) {
    std::string id = t.id;
    out.emplace(std::move(id), std::make_shared<const Task>(std::move(t)));
  }
  return out;
}

}  // namespace

struct Engine::Run {
  Execution exec;
  std::shared_ptr<const Task> task;  // the definition when it was queued (shared, read-only)
  std::uint64_t token = 0;           // changes with every attempt, timeout and cancellation
  std::uint64_t attempt = 0;         // the runner's id of the attempt in flight (0: none)
  // The task's schedule when this firing was claimed (0: not from the schedule).
  std::uint64_t generation = 0;
  // When it may start: its instant, plus the task's jitter delay for a scheduled firing.
  Millis starts_at = 0;
  // Counted against the task's maxRuns when claimed: one of its allowed runs, which runs
  // even though its claim, the last, paused the task.
  bool counted = false;
  // buffered: stored as queued, waiting for the task's running execution to end.
  enum class State { held, buffered, waiting, running, retry_wait } state = State::waiting;
  // In a cluster: the member that owns the row, and the engine's epoch when it was made.
  std::string owner;
  std::uint64_t epoch = 0;
};

Engine::Engine(Store& store, const Clock& clock, const Registry& registry, EngineOptions options)
    : store_(store),
      clock_(clock),
      options_(std::move(options)),
      recorder_(store, store.writers()),
      functions_(registry,
                 static_cast<std::size_t>(std::max(
                     1, std::min(options_.max_concurrency, options_.max_function_threads)))),
      http_(options_.outbound),
      commands_(options_.commands) {
  if (Cluster* cluster = store.cluster()) {
    membership_ = std::make_unique<Membership>(
        *cluster, recorder_, clock_,
        MembershipOptions{.node_id = options_.node_id,
                          .heartbeat_ms = options_.heartbeat_ms,
                          .lease_ms = options_.lease_ms,
                          .dead_after_ms = options_.dead_after_ms,
                          .backup_after_ms = options_.backup_after_ms,
                          .misfire_grace_ms = options_.misfire_grace_ms},
        Membership::Hooks{
            .abandon = [this] { abandon(); },
            .renewed = [this] { lease_renewed(); },
            .adopt = [this](std::vector<Execution> queued) { adopt(std::move(queued)); },
            .interrupted =
                [this](const std::vector<Execution>& interrupted) {
                  std::lock_guard lock{mutex_};
                  if (!options_.on_change) return;
                  for (const auto& e : interrupted)
                    options_.on_change(e);
                },
            .unclaimed = [this](std::vector<DueFiring> due) { claim(std::move(due)); },
            .room =
                [this] {
                  std::lock_guard lock{mutex_};
                  return admission_locked();
                },
            .task_changed = [this](const std::string& id) { task_changed(id); }});
  }
  // The attempts whose `running` one commit stored start together, after its callbacks.
  recorder_.after_callbacks([this] {
    std::lock_guard lock{mutex_};
    flush_launches_locked();
  });
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
  commands_.start();  // first: it ends what a killed server left running
  functions_.start();
  http_.start();
  // Another server's change from here on is told to this one; one told before the
  // schedules are loaded is applied after them.
  if (membership_) membership_->listen();
  const Millis now = clock_.now();
  std::vector<DueFiring> due;
  {
    // Loaded first: a recovered firing held until its start asks the timetable when that is.
    const std::vector<ScheduleSpec> specs = store_.enabled_schedules();
    std::lock_guard lock{mutex_};
    timetable_.reserve(specs.size());
    due = timetable_.load(specs, now);
  }
  if (membership_) {
    // What earlier runs of this server left is taken over like any silent member's (a
    // clean stop left at once; a crash after dead_after_ms), by whichever member is first.
    membership_->beat();
  } else {
    store_.fail_running(now, "interrupted by restart");
    adopt(store_.queued_executions());
  }
  // Drop catch-ups whose instant already has an execution.
  std::erase_if(due, [&](const DueFiring& d) {
    auto latest = store_.latest_scheduled_for(d.task_id);
    return latest && *latest >= d.scheduled_for;
  });
  claim(std::move(due));
  {
    std::lock_guard lock{mutex_};
    next_cleanup_ = now;
  }
  scheduler_ = std::thread([this] { scheduler_loop(); });
  if (membership_) {
    membership_->loaded();
    membership_->start();
  }
}

void Engine::stop() {
  {
    std::lock_guard lock{mutex_};
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  processed_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  if (membership_) membership_->stop();
  {
    Lock lock{mutex_};
    runs_changed_.wait_for(lock, std::chrono::milliseconds{options_.shutdown_grace_ms},
                           [&] { return running_ == 0; });
    // Whatever still runs, or waits to retry, is interrupted; what waits for a slot or for
    // its task's running execution stays queued in the store and runs at the next start.
    std::vector<std::shared_ptr<Run>> rest;
    for (auto& [id, run] : runs_) {
      if (run->state == Run::State::running || run->state == Run::State::retry_wait) {
        rest.push_back(run);
      }
    }
    for (auto& run : rest) {
      if (run->state == Run::State::running) --running_;
      cancel_locked(*run);
      finish_locked(run, ExecutionStatus::failed, "interrupted by shutdown");
    }
    ready_.clear();
  }
  functions_.stop();
  http_.stop();
  commands_.stop();
  recorder_.stop();
  if (membership_) membership_->leave();
}

bool Engine::processed_until(Millis t, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    Lock lock{mutex_};
    wake_.notify_one();
    if (!processed_cv_.wait_until(lock, deadline, [&] { return processed_ >= t || stopping_; })) {
      return false;
    }
  }
  // What it claimed is stored (or refused) by now.
  return recorder_.wait_written(std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
      deadline - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{})));
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
    timetable_.remove(task.id);
    return;
  }
  timetable_.set(task.id, std::move(*expr), zone->get(), task.catches_up(), now,
                 {task.start_at, task.end_at, task.jitter_seconds});
  wake_.notify_one();
}

void Engine::unschedule(std::string_view task_id) {
  std::lock_guard lock{mutex_};
  timetable_.remove(task_id);
}

std::string Engine::trigger(const Task& task, Stored stored,
                            std::shared_ptr<const AuditEntry> audit) {
  const Millis now = clock_.now();
  auto run = std::make_shared<Run>();
  bool started = false;
  {
    std::lock_guard lock{mutex_};
    started = started_ && !stopping_;
    if (!may_start_locked()) {
      throw StoreError("this server cannot reach the database: it starts nothing until it can");
    }
    if (membership_) run->owner = membership_->member();
    run->epoch = epoch_;
  }
  run->exec.id = new_id(now);
  run->exec.task_id = task.id;
  run->exec.trigger = Trigger::manual;
  run->exec.scheduled_for = now;
  run->exec.queued_at = now;
  run->exec.node_id = options_.node_id;
  run->task = std::make_shared<const Task>(task);
  std::string id = run->exec.id;
  if (auto failure = recorder_.failure()) {
    throw StoreError("execution records cannot be written now: " + *failure);
  }
  // Before start() the recorder writes nothing yet: accepted now, stored by start().
  if (!started) {
    stored(id, true);
    stored = {};
  }
  ExecutionWrite write = write_of(*run, ExecutionWrite::Kind::insert);
  if (audit) {
    // The entry names the execution it made (an id is letters and digits only).
    auto named = std::make_shared<AuditEntry>(*audit);
    named->detail = R"({"executionId":")" + id + R"("})";
    write.audit = std::move(named);
  }
  recorder_.write(std::move(write), [this, run, stored = std::move(stored)](bool written) {
    if (written) {
      std::lock_guard lock{mutex_};
      // A member that started over leaves it to the others to take over.
      if (run->epoch == epoch_) {
        if (options_.on_change) options_.on_change(run->exec);
        enqueue_locked(run);
      }
    }
    if (stored) stored(run->exec.id, written);
  });
  return id;
}

std::string Engine::trigger(const Task& task) {
  auto stored = std::make_shared<std::promise<bool>>();
  auto answer = stored->get_future();
  std::string id =
      trigger(task, [stored](const std::string&, bool written) { stored->set_value(written); });
  if (answer.wait_for(std::chrono::seconds{5}) != std::future_status::ready) {
    throw StoreError(
        "the database did not confirm the execution within 5 s; it is kept and runs once "
        "written");
  }
  if (!answer.get()) throw StoreError("the execution could not be stored");
  return id;
}

void Engine::backfill(const Task& task, const std::vector<Millis>& instants,
                      std::optional<OverlapPolicy> overlap) {
  const Millis now = clock_.now();
  std::string owner;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock{mutex_};
    if (!started_ || stopping_) throw StoreError("the scheduler is not running");
    if (!may_start_locked()) {
      throw StoreError("this server cannot reach the database: it starts nothing until it can");
    }
    if (membership_) owner = membership_->member();
    epoch = epoch_;
  }
  if (auto failure = recorder_.failure()) {
    throw StoreError("execution records cannot be written now: " + *failure);
  }
  auto copy = std::make_shared<Task>(task);
  if (overlap) copy->overlap_policy = *overlap;
  const std::shared_ptr<const Task> definition = std::move(copy);
  for (Millis at : instants) {
    auto run = std::make_shared<Run>();
    run->owner = owner;
    run->epoch = epoch;
    run->exec.id = new_id(now);
    run->exec.task_id = task.id;
    run->exec.trigger = Trigger::backfill;
    run->exec.scheduled_for = at;
    run->exec.queued_at = now;
    run->exec.node_id = options_.node_id;
    run->task = definition;
    run->starts_at = at;  // past: at once
    recorder_.write(write_of(*run, ExecutionWrite::Kind::insert), [this, run](bool written) {
      if (!written) return;  // the instant has an execution already
      std::lock_guard lock{mutex_};
      if (run->epoch != epoch_) return;
      on_claimed_locked(run);
    });
  }
}

bool Engine::ready() const {
  return !membership_ || membership_->lease_valid();
}

EngineCounters Engine::counters() const {
  EngineCounters c;
  {
    std::lock_guard lock{mutex_};
    c.scheduled_tasks = static_cast<std::int64_t>(timetable_.size());
    c.running = running_;
    c.held = held_;
    c.waiting = static_cast<std::int64_t>(runs_.size()) - running_ - held_;
    c.missed = missed_count_;
    if (auto earliest = timetable_.earliest()) {
      c.behind_ms = std::max<std::int64_t>(0, clock_.now() - *earliest);
    }
  }
  if (membership_) {
    c.cluster_members = static_cast<std::int64_t>(membership_->live_members());
    c.taken_over = membership_->taken_over();
  }
  return c;
}

std::optional<Millis> Engine::next_run(std::string_view task_id) const {
  return next_runs(std::span{&task_id, 1})[0];
}

std::vector<std::optional<Millis>> Engine::next_runs(
    std::span<const std::string_view> task_ids) const {
  std::vector<std::optional<Millis>> out(task_ids.size());
  std::lock_guard lock{mutex_};
  for (std::size_t i = 0; i < task_ids.size(); ++i)
    out[i] = timetable_.next_run(task_ids[i]);
  return out;
}

// ---- firing: the timetable's thread, and claiming -------------------------------------

void Engine::scheduler_loop() {
  Lock lock{mutex_};
  while (!stopping_) {
    const Millis now = clock_.now();
    if (options_.alive_every_ms > 0 && options_.on_alive && now >= next_alive_) {
      next_alive_ = now + options_.alive_every_ms;
      lock.unlock();
      options_.on_alive();
      lock.lock();
      continue;  // the world may have changed meanwhile
    }
    std::vector<DueFiring> due;
    // Cut off from the database (in a cluster, no heartbeat within the lease): claim
    // nothing, and look at an instant only when it comes, in case the lease returns first.
    const bool cut_off = !may_start_locked();
    const Millis ahead = cut_off ? 0 : options_.queue_ahead_ms;
    timetable_.take_due(
        now + ahead, now, options_.misfire_grace_ms,
        [&](const Timetable::Due& d) {
          if (d.missed) {
            // Behind by more than the grace (held back by max_queued, stopped, or the clock
            // jumped forward): catch-up tasks run once for the latest missed instant; for
            // others the instant is recorded as skipped (by its owner), and they wait for
            // their next one.
            if (d.latest_missed) {
              due.push_back({d.task_id, *d.latest_missed, Trigger::catch_up});
            } else if (!membership_ || membership_->owns(d.task_id, d.at)) {
              DueFiring f{d.task_id, d.at, Trigger::schedule, d.generation, d.starts_at};
              f.missed = true;
              due.push_back(std::move(f));
            }
            return false;
          }
          if (cut_off) {
            // The others claim what they can; catch-up tasks run once for the latest such
            // instant when the lease returns.
            if (d.catch_up) missed_[d.task_id] = d.at;
            return false;
          }
          if (membership_ && !membership_->owns(d.task_id, d.at)) {
            membership_->watch({d.task_id, d.at, Trigger::schedule, d.generation, d.starts_at});
            return false;
          }
          due.push_back({d.task_id, d.at, Trigger::schedule, d.generation, d.starts_at});
          return true;
        },
        admission_locked());
    // What is due and still on the heap was held back by max_queued.
    const auto earliest = timetable_.earliest();
    held_back_ = !cut_off && earliest && *earliest <= now + ahead;
    continue_backlogs_locked(due);
    // Attempts started by timers that come due together go to their runners in one go.
    batch_launches_ = true;
    while (!timers_.empty() && timers_.top().at <= now) {
      Timer t = timers_.top();
      timers_.pop();
      on_timer_locked(t);
    }
    batch_launches_ = false;
    flush_launches_locked();
    const bool cleanup = now >= next_cleanup_;
    if (cleanup) next_cleanup_ = now + kDayMs;
    if (!due.empty() || cleanup || !to_refresh_.empty() || !to_check_.empty() ||
        !to_tell_.empty()) {
      std::vector<std::shared_ptr<Run>> changed = std::exchange(to_refresh_, {});
      std::vector<std::string> checks = std::exchange(to_check_, {});
      std::vector<Delivery> tell = std::exchange(to_tell_, {});
      lock.unlock();
      try {
        store_.queue_deliveries(tell);
      } catch (const StoreError&) {
        // Lost with the database: a slow run is told at most once.
      }
      for (const auto& task_id : checks) {
        std::lock_guard hook{limits_mutex_};
        try {
          if (check_limits_) {
            check_limits_(task_id);
          } else {
            TaskService::reload(store_, *this, task_id);
          }
        } catch (const std::exception&) {
          // The store failed: the limit is checked again at the task's next counted event.
        }
      }
      if (cleanup) {
        try {
          store_.prepare_history(now);
          store_.delete_successful_before(now - options_.log_retention_days * kDayMs);
          store_.delete_deliveries_before(now - options_.log_retention_days * kDayMs);
          store_.delete_audit_before(now - options_.audit_retention_days * kDayMs);
        } catch (const StoreError&) {
          // Retried tomorrow; a failing store shows in readiness, not here.
        }
      }
      claim(std::move(due));
      refresh(std::move(changed));
      lock.lock();
      continue;
    }
    if (!held_back_) {
      processed_ = now;
      processed_cv_.notify_all();
    }
    Millis until = next_cleanup_;
    if (earliest) {
      // Held back: woken when executions finish (capacity_freed_locked), or when the
      // earliest becomes missed.
      until = std::min(until,
                       held_back_ ? *earliest + options_.misfire_grace_ms + 1 : *earliest - ahead);
    }
    if (!timers_.empty()) until = std::min(until, timers_.top().at);
    if (options_.alive_every_ms > 0 && options_.on_alive) until = std::min(until, next_alive_);
    wakes_at_ = until;
    clock_.wait_until(lock, wake_, until);
    wakes_at_ = kNoWake;
  }
}

void Engine::claim(std::vector<DueFiring> due) {
  if (due.empty()) return;
  const Millis now = clock_.now();
  Definitions tasks;  // a task may fire twice in one claim: its runs share the definition
  try {
    std::vector<std::string_view> ids;
    ids.reserve(due.size());
    for (const auto& d : due)
      ids.push_back(d.task_id);
    tasks = read_definitions(store_, ids);
  } catch (const StoreError&) {
    return;  // cannot read the definitions: the firings are missed, and catch-up covers them
  }
  // Catch-ups of tasks that owe every missed instant become those instants.
  std::vector<DueFiring> expanded;
  for (auto& d : due) {
    auto found = tasks.find(d.task_id);
    if (d.trigger == Trigger::catch_up && found != tasks.end() &&
        found->second->catch_up_policy == CatchUpPolicy::all) {
      for (auto& o : owed(d, *found->second, now))
        expanded.push_back(std::move(o));
    } else if (d.after) {
      // The rest of a backlog, for a task that no longer owes every instant (or is gone).
      std::lock_guard lock{mutex_};
      backlog_.erase(d.task_id);
    } else {
      expanded.push_back(std::move(d));
    }
  }
  due = std::move(expanded);
  for (auto& d : due) {
    // Another member's firing that nobody claimed until it was later than the grace (the
    // backup check waited for room): skipped, like this member's own.
    if (d.trigger == Trigger::schedule &&
        now - std::max(d.scheduled_for, d.starts_at) > options_.misfire_grace_ms) {
      d.missed = true;
    }
  }
  std::string owner;
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock{mutex_};
    if (membership_) owner = membership_->member();
    epoch = epoch_;
    for (const auto& d : due)
      claiming_ += d.missed ? 0 : 1;
  }
  for (auto& d : due) {
    auto found = tasks.find(d.task_id);
    if (found == tasks.end() || !found->second->enabled) {
      if (d.after) settle_backlog(d.task_id);
      if (!d.missed) claim_answered();
      continue;
    }
    if (d.missed) {
      record_missed(d, owner, now);
      continue;
    }
    auto run = std::make_shared<Run>();
    run->owner = owner;
    run->epoch = epoch;
    run->exec.id = new_id(now);
    run->exec.task_id = d.task_id;
    run->exec.trigger = d.trigger;
    run->exec.scheduled_for = d.scheduled_for;
    run->exec.queued_at = now;
    run->exec.node_id = options_.node_id;
    run->task = found->second;
    run->generation = d.generation;
    run->starts_at = std::max(d.scheduled_for, d.starts_at);  // a catch-up: at once
    // The claim: the insert is unique on (task, instant), so only the server whose insert
    // commits runs the firing. A task with a run limit counts it in the same transaction.
    ExecutionWrite claim = write_of(*run, ExecutionWrite::Kind::insert);
    claim.counts_run = run->counted = run->task->max_runs.has_value();
    if (claim.counts_run) claim.task = run->task;  // its `paused` rules, at its last run
    recorder_.write(std::move(claim), [this, run, part = d.after.has_value()](bool written) {
      if (part) settle_backlog(run->task->id);
      std::lock_guard lock{mutex_};
      --claiming_;
      if (!written) {
        capacity_freed_locked();
        return;
      }
      if (run->task->max_runs) {
        // Perhaps its last run: then the store paused the task.
        to_check_.push_back(run->task->id);
        wake_.notify_one();
      }
      if (run->epoch != epoch_) return;  // this member started over: others take it over
      on_claimed_locked(run);
    });
  }
}

std::size_t Engine::admission_locked() const {
  const std::int64_t limit =
      std::int64_t{options_.max_concurrency} + std::int64_t{options_.max_queued};
  const std::int64_t taken = static_cast<std::int64_t>(runs_.size()) + claiming_;
  return static_cast<std::size_t>(std::max<std::int64_t>(0, limit - taken));
}

void Engine::capacity_freed_locked() {
  // Woken once a twentieth of the room is free, so that a loaded server claims in batches.
  const std::size_t batch = std::max<std::size_t>(
      1, static_cast<std::size_t>(options_.max_concurrency + options_.max_queued) / 20);
  if (held_back_ && admission_locked() >= batch) wake_.notify_one();
}

void Engine::claim_answered() {
  std::lock_guard lock{mutex_};
  --claiming_;
  capacity_freed_locked();
}

void Engine::record_missed(const DueFiring& d, const std::string& owner, Millis now) {
  Execution e;
  e.id = new_id(now);
  e.task_id = d.task_id;
  e.status = ExecutionStatus::skipped;
  e.trigger = Trigger::schedule;
  e.scheduled_for = d.scheduled_for;
  e.queued_at = e.finished_at.emplace(now);
  e.node_id = options_.node_id;
  e.error_message = "skipped: its start came more than " +
                    std::to_string(options_.misfire_grace_ms / 1000) +
                    " s late (the server was behind, stopped, or its clock jumped); the "
                    "instants after it until now were not run either";
  recorder_.write(ExecutionWrite{ExecutionWrite::Kind::insert, e, owner}, [this, e](bool written) {
    if (!written) return;  // claimed meanwhile (by another server)
    std::lock_guard lock{mutex_};
    ++missed_count_;
    if (options_.on_change) options_.on_change(e);
  });
}

std::vector<DueFiring> Engine::owed(const DueFiring& d, const Task& task, Millis now) {
  std::vector<DueFiring> out;
  auto expr = cron::CronExpr::parse(task.cron_expression);
  auto zone = cron::Zone::find(task.timezone);
  if (!expr || !zone) return out;
  Millis after = std::max(task.created_at, now - task.catch_up_window_seconds * Millis{1000});
  if (d.after) {
    after = std::max(after, *d.after);
  } else {
    try {
      if (auto latest = store_.latest_scheduled_for(task.id)) after = std::max(after, *latest);
    } catch (const StoreError&) {
      return out;  // the next catch-up (restart, lease) tries again
    }
  }
  const auto instants = instants_between(*expr, **zone, {task.start_at, task.end_at}, after,
                                         d.scheduled_for, kMaxCatchUps);
  std::lock_guard lock{mutex_};
  if (instants.size() == kMaxCatchUps && instants.back() < d.scheduled_for) {
    // Every one of this part marks itself answered (settle_backlog); the next part is
    // asked for once they are and the task ran them.
    backlog_[task.id] = {instants.back(), d.scheduled_for, static_cast<int>(instants.size())};
  } else {
    backlog_.erase(task.id);
  }
  const bool part = backlog_.contains(task.id);
  for (Millis at : instants) {
    DueFiring f{task.id, at, Trigger::catch_up};
    if (part) f.after = at;  // (marks the firing as one of a part)
    out.push_back(std::move(f));
  }
  return out;
}

void Engine::settle_backlog(const std::string& task_id) {
  std::lock_guard lock{mutex_};
  auto b = backlog_.find(task_id);
  if (b == backlog_.end() || b->second.in_flight <= 0) return;
  if (--b->second.in_flight == 0) wake_.notify_one();
}

void Engine::continue_backlogs_locked(std::vector<DueFiring>& due) {
  for (auto& [task_id, b] : backlog_) {
    if (b.in_flight != 0 || running_for_locked(task_id) || buffered_.contains(task_id)) continue;
    b.in_flight = -1;  // until owed() makes the next part
    DueFiring next{task_id, b.until, Trigger::catch_up};
    next.after = b.after;
    due.push_back(std::move(next));
  }
}

void Engine::on_claimed_locked(std::shared_ptr<Run> run) {
  if (stopping_) return;  // stays queued in the store for the next start
  if (options_.on_change) options_.on_change(run->exec);
  if (run->starts_at <= clock_.now()) {
    release_locked(run);
    return;
  }
  run->state = Run::State::held;
  ++held_;
  runs_[run->exec.id] = run;
  add_timer_locked({run->starts_at, Timer::Kind::due, run->exec.id, run->token});
}

void Engine::release_locked(const std::shared_ptr<Run>& run) {
  if (run->state == Run::State::held) {
    --held_;
    run->state = Run::State::waiting;  // stays in runs_: enqueue_locked keeps it there
  }
  if (run->generation != 0) {
    // Claimed from the schedule: if the task changed since, it runs only if it still fires
    // at this instant, with its definition as it is now.
    timetable_.release(run->task->id, run->exec.scheduled_for);
    switch (timetable_.standing(run->task->id, run->generation, run->exec.scheduled_for)) {
      case Timetable::Standing::unchanged:
        break;
      case Timetable::Standing::gone:
        if (run->counted) {
          // Perhaps paused by its own claim (the task's last run): the store tells.
          runs_[run->exec.id] = run;
          to_refresh_.push_back(run);
          wake_.notify_one();
          return;
        }
        skip_locked(run, "skipped: the task was changed or disabled before its instant");
        return;
      case Timetable::Standing::changed:
        runs_[run->exec.id] = run;
        to_refresh_.push_back(run);  // its new definition is read off the lock
        wake_.notify_one();
        return;
    }
  }
  enqueue_locked(run);
}

void Engine::refresh(std::vector<std::shared_ptr<Run>> runs) {
  if (runs.empty()) return;
  Definitions tasks;
  bool read = true;
  try {
    std::vector<std::string_view> ids;
    for (const auto& run : runs)
      ids.push_back(run->task->id);
    tasks = read_definitions(store_, ids);
  } catch (const StoreError&) {
    read = false;  // the old definition is what was claimed: run that
  }
  std::lock_guard lock{mutex_};
  for (auto& run : runs) {
    auto kept = runs_.find(run->exec.id);
    if (run->epoch != epoch_ || kept == runs_.end() || kept->second != run) continue;
    if (read) {
      auto found = tasks.find(run->task->id);
      // A counted run whose claim was the task's last one runs though that claim paused it.
      const bool last_run = found != tasks.end() && run->counted && found->second->max_runs &&
                            found->second->run_count >= *found->second->max_runs;
      if (found == tasks.end() || !(found->second->enabled || last_run)) {
        skip_locked(run, "skipped: the task was changed or disabled before its instant");
        continue;
      }
      run->task = found->second;
    }
    enqueue_locked(run);
  }
}

// ---- the run's state machine -----------------------------------------------------------

void Engine::enqueue_locked(std::shared_ptr<Run> run) {
  if (stopping_) return;  // stays queued in the store for the next start
  auto& active = active_[run->task->id];
  if (!active.empty() && run->task->overlap_policy == OverlapPolicy::skip) {
    skip_locked(run, "skipped: execution " + *active.begin() + " is still running");
    return;
  }
  if (!active.empty() && run->task->overlap_policy == OverlapPolicy::replace) {
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
  // (`active` may be gone: replacing erased the task's entry.)
  const OverlapPolicy policy = run->task->overlap_policy;
  if ((policy == OverlapPolicy::buffer_one || policy == OverlapPolicy::buffer_all) &&
      running_for_locked(run->task->id)) {
    // Waits, stored as queued (a crash loses nothing), for the running one to end.
    auto& waiting = buffered_[run->task->id];
    const std::size_t limit = policy == OverlapPolicy::buffer_one ? 1 : kMaxBuffered;
    if (waiting.size() >= limit) {
      skip_locked(run, policy == OverlapPolicy::buffer_one
                           ? "skipped: execution " + waiting.front()->exec.id +
                                 " already waits for the running one to end"
                           : "skipped: " + std::to_string(kMaxBuffered) +
                                 " firings already wait for the running one to end");
      return;
    }
    run->state = Run::State::buffered;
    runs_[run->exec.id] = run;
    waiting.push_back(std::move(run));
    return;
  }
  active_[run->task->id].insert(run->exec.id);
  runs_[run->exec.id] = run;
  run->state = Run::State::waiting;
  ready_.push_back(std::move(run));
  pump_locked();
}

void Engine::pump_locked() {
  if (stopping_) return;            // shutting down: let what runs finish, start nothing new
  if (!may_start_locked()) return;  // started again when the lease returns (lease_renewed)
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
  run->exec.attempts += 1;
  if (!run->exec.started_at) {
    run->exec.started_at = now;
    // Each `slow` rule's threshold, timed from the run's start (retries included).
    for (const auto& rule : run->task->notifications) {
      if (rule.notifies(NotifyEvent::slow) && rule.slow_seconds) {
        add_timer_locked(
            {now + *rule.slow_seconds * Millis{1000}, Timer::Kind::slow, run->exec.id, 0});
      }
    }
  }
  run->exec.status = ExecutionStatus::running;
  if (options_.start_before_stored && !membership_) {
    record(*run);
    launch_locked(run, now);
    return;
  }
  // The attempt starts only once `running` is stored (in a cluster, under this member): a
  // start after a crash, or a member taking over, then knows what may have started
  // (running: it is interrupted, or retried) and what surely did not (queued: it runs).
  if (options_.on_change) options_.on_change(run->exec);
  recorder_.write(
      write_of(*run, ExecutionWrite::Kind::update), [this, run, token = run->token](bool written) {
        std::lock_guard lock{mutex_};
        if (run->epoch != epoch_ || run->token != token || run->state != Run::State::running) {
          return;  // timed out, replaced or abandoned meanwhile
        }
        if (written) {
          // Handed over with the others of the same commit, after its callbacks.
          launch_locked(run, clock_.now(), true);
          return;
        }
        // No longer this member's (taken over) or gone: not run here.
        --running_;
        forget_locked(*run);
        pump_locked();
      });
}

Runner& Engine::runner_for(TaskType type) {
  switch (type) {
    case TaskType::http:
      return http_;
    case TaskType::command:
      return commands_;
    case TaskType::function:
      break;
  }
  return functions_;
}

void Engine::flush_launches_locked() {
  for (std::size_t type = 0; type < launches_.size(); ++type) {
    if (launches_[type].empty()) continue;
    runner_for(static_cast<TaskType>(type)).submit(std::exchange(launches_[type], {}));
  }
}

void Engine::launch_locked(const std::shared_ptr<Run>& run, Millis started, bool collect) {
  const Millis deadline = started + run->task->timeout_seconds * Millis{1000};
  add_timer_locked({deadline, Timer::Kind::deadline, run->exec.id, run->token});
  run->attempt = next_attempt_++;
  Runner::Job job{{.id = run->attempt,
                   .task = run->task,
                   .execution_id = run->exec.id,
                   .number = run->exec.attempts,
                   .scheduled_for = run->exec.scheduled_for,
                   .deadline = deadline},
                  [this, run, token = run->token](Outcome outcome) {
                    attempt_done(run, token, std::move(outcome));
                  }};
  if (batch_launches_ || collect) {
    launches_[static_cast<std::size_t>(run->task->type)].push_back(std::move(job));
    return;
  }
  std::vector<Runner::Job> one;
  one.push_back(std::move(job));
  runner_for(run->task->type).submit(std::move(one));
}

void Engine::attempt_done(const std::shared_ptr<Run>& run, std::uint64_t token, Outcome outcome) {
  std::lock_guard lock{mutex_};
  // A completion after a timeout or a replacement belongs to an attempt already recorded.
  if (run->token != token || run->state != Run::State::running) return;
  --running_;
  run->attempt = 0;
  if (outcome.output) run->exec.output = std::move(outcome.output);
  if (outcome.ok) {
    finish_locked(run, ExecutionStatus::success, std::move(outcome.message));
  } else if (!outcome.retryable) {
    // Retrying cannot help (no such function, bad payload).
    finish_locked(run, ExecutionStatus::failed, std::move(outcome.message));
  } else {
    retry_or_fail_locked(
        run, outcome.timed_out ? ExecutionStatus::timed_out : ExecutionStatus::failed,
        outcome.message.empty() ? "the function reported failure" : std::move(outcome.message),
        outcome.retry_after);
  }
  pump_locked();
}

Millis Engine::retry_delay_locked(const Run& run, std::optional<Millis> retry_after) {
  const Task& t = *run.task;
  const Millis cap = t.retry_max_delay_seconds * Millis{1000};
  Millis delay = t.retry_delay_seconds * Millis{1000};
  if (t.retry_backoff == RetryBackoff::exponential) {
    // Before attempt n+1: the delay x 2^(n-1), capped, then shortened by up to 20% at
    // random so that tasks failing together do not retry together.
    const int doublings = std::clamp(run.exec.attempts - 1, 0, 40);
    const double full =
        std::min(static_cast<double>(delay) * std::ldexp(1.0, doublings), static_cast<double>(cap));
    const double shortened = full * (1.0 - 0.2 * std::uniform_real_distribution<double>{}(rng_));
    delay = std::max<Millis>(1, static_cast<Millis>(shortened));
  }
  if (retry_after) delay = std::max(delay, std::min(*retry_after, cap));
  return delay;
}

void Engine::retry_or_fail_locked(const std::shared_ptr<Run>& run, ExecutionStatus final_status,
                                  std::string message, std::optional<Millis> retry_after) {
  if (run->exec.attempts <= run->task->max_retries && !stopping_) {
    // Timed from when the attempt ended, read before anything is recorded: whoever sees
    // the failure stored knows the retry's time is set.
    const Millis retry_at = clock_.now() + retry_delay_locked(*run, retry_after);
    run->state = Run::State::retry_wait;
    run->exec.error_message = message;
    record(*run);
    add_timer_locked({retry_at, Timer::Kind::retry, run->exec.id, run->token});
    return;
  }
  finish_locked(run, final_status, std::move(message));
}

void Engine::add_timer_locked(Timer t) {
  const bool sooner = t.at < wakes_at_;
  timers_.push(std::move(t));
  // The scheduler sleeps until its earliest entry: wake it only for an earlier one.
  if (sooner) wake_.notify_one();
}

void Engine::on_timer_locked(const Timer& t) {
  auto it = runs_.find(t.execution_id);
  if (it != runs_.end() && t.kind == Timer::Kind::slow) {
    tell_slow_locked(*it->second, t.at);
    return;
  }
  if (it == runs_.end() || it->second->token != t.token) return;
  auto run = it->second;
  if (t.kind == Timer::Kind::deadline && run->state == Run::State::running) {
    // Ask the handler to stop and record the timeout now, whether or not it listens.
    cancel_locked(*run);
    --running_;
    retry_or_fail_locked(run, ExecutionStatus::timed_out,
                         "timed out after " + std::to_string(run->task->timeout_seconds) + " s");
    pump_locked();
  } else if (t.kind == Timer::Kind::due && run->state == Run::State::held) {
    release_locked(run);
  } else if (t.kind == Timer::Kind::retry && run->state == Run::State::retry_wait) {
    run->state = Run::State::waiting;
    ready_.push_back(run);
    pump_locked();
  }
}

void Engine::tell_slow_locked(const Run& run, Millis at) {
  if (!run.exec.started_at || is_terminal(run.exec.status)) return;
  for (const auto& rule : run.task->notifications) {
    if (!rule.notifies(NotifyEvent::slow) || !rule.slow_seconds ||
        *run.exec.started_at + *rule.slow_seconds * Millis{1000} != at) {
      continue;
    }
    to_tell_.push_back(delivery_of(rule, {.kind = NotifyEvent::slow,
                                          .task_id = run.task->id,
                                          .task_name = run.task->name,
                                          .at = at,
                                          .execution = run.exec,
                                          .slow_seconds = *rule.slow_seconds}));
  }
  wake_.notify_one();
}

void Engine::cancel_locked(Run& run) {
  ++run.token;
  if (run.attempt) {
    // Not handed over yet (a batch in the making): it never starts.
    const auto same = [&](const Runner::Job& j) { return j.attempt.id == run.attempt; };
    if (std::erase_if(launches_[static_cast<std::size_t>(run.task->type)], same) == 0) {
      runner_for(run.task->type).cancel(run.attempt);
    }
  }
  run.attempt = 0;
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

void Engine::skip_locked(const std::shared_ptr<Run>& run, std::string summary) {
  runs_.erase(run->exec.id);  // if it was held there
  run->exec.status = ExecutionStatus::skipped;
  run->exec.finished_at = clock_.now();
  run->exec.result_summary = std::move(summary);
  record(*run);
}

bool Engine::running_for_locked(const std::string& task_id) const {
  auto found = active_.find(task_id);
  return found != active_.end() && !found->second.empty();
}

void Engine::forget_locked(const Run& run) {
  const std::string id = run.exec.id;  // `run` may live only in runs_
  const std::string task_id = run.task->id;
  auto active = active_.find(task_id);
  if (active != active_.end()) {
    active->second.erase(id);
    if (active->second.empty()) active_.erase(active);
  }
  runs_.erase(id);
  capacity_freed_locked();
  if (backlog_.contains(task_id)) wake_.notify_one();  // its next part may be due
  if (!running_for_locked(task_id)) {
    // The task runs no more: the first firing that waited for it is next (started by the
    // caller's pump).
    auto waiting = buffered_.find(task_id);
    if (waiting != buffered_.end()) {
      auto next = std::move(waiting->second.front());
      waiting->second.pop_front();
      if (waiting->second.empty()) buffered_.erase(waiting);
      active_[task_id].insert(next->exec.id);
      next->state = Run::State::waiting;
      if (!stopping_) ready_.push_back(std::move(next));  // else: stays queued for next start
    }
  }
  runs_changed_.notify_all();
}

void Engine::record(const Run& run) {
  const bool failed =
      run.exec.status == ExecutionStatus::failed || run.exec.status == ExecutionStatus::timed_out;
  if (failed && run.task->pause_after_failures) {
    write_then_check(write_of(run, ExecutionWrite::Kind::update), run.task->id);
  } else {
    recorder_.write(write_of(run, ExecutionWrite::Kind::update));
  }
  if (options_.on_change) options_.on_change(run.exec);
}

void Engine::write_then_check(ExecutionWrite write, const std::string& task_id) {
  recorder_.write(std::move(write), [this, task_id](bool written) {
    if (!written) return;
    std::lock_guard lock{mutex_};
    to_check_.push_back(task_id);
    wake_.notify_one();
  });
}

bool Engine::scheduled(std::string_view task_id) const {
  std::lock_guard lock{mutex_};
  return timetable_.contains(task_id);
}

void Engine::on_limits(std::function<void(const std::string& task_id)> check) {
  std::lock_guard lock{limits_mutex_};
  check_limits_ = std::move(check);
}

ExecutionWrite Engine::write_of(const Run& run, ExecutionWrite::Kind kind) const {
  ExecutionWrite w{kind, run.exec, run.owner};
  // An end is told to the task's notification rules, in the transaction that writes it.
  if (kind == ExecutionWrite::Kind::update && is_terminal(run.exec.status)) w.task = run.task;
  return w;
}

// ---- recovery, and the cluster's hooks -------------------------------------------------

void Engine::adopt(std::vector<Execution> queued) {
  if (queued.empty()) return;
  std::vector<std::string_view> ids;
  ids.reserve(queued.size());
  for (const auto& e : queued)
    ids.push_back(e.task_id);
  const Definitions tasks = read_definitions(store_, ids);
  std::lock_guard lock{mutex_};
  const std::string owner = membership_ ? membership_->member() : std::string{};
  for (auto& e : queued) {
    auto it = tasks.find(e.task_id);
    if (it == tasks.end()) continue;  // deleted, with its executions
    auto run = std::make_shared<Run>();
    run->exec = std::move(e);
    run->exec.node_id = options_.node_id;
    run->task = it->second;
    run->owner = owner;
    run->epoch = epoch_;
    run->starts_at = run->exec.trigger == Trigger::schedule
                         ? timetable_.starts_at(run->task->id, run->exec.scheduled_for)
                         : run->exec.scheduled_for;
    on_claimed_locked(std::move(run));  // one claimed ahead of its start waits for it
  }
}

void Engine::abandon() {
  std::lock_guard lock{mutex_};
  ++epoch_;
  for (auto& [id, run] : runs_)
    cancel_locked(*run);  // late results are ignored (tokens moved on)
  runs_.clear();
  active_.clear();
  buffered_.clear();
  backlog_.clear();  // another member catches up (or this one, when the lease returns)
  ready_.clear();
  to_refresh_.clear();
  running_ = 0;
  held_ = 0;
  timetable_.release_all();
  runs_changed_.notify_all();
}

void Engine::lease_renewed() {
  std::vector<DueFiring> due;
  {
    std::lock_guard lock{mutex_};
    // Catch-up tasks that fired while the lease was out run once for their latest instant.
    for (auto& [task_id, at] : missed_)
      due.push_back({task_id, at, Trigger::catch_up});
    missed_.clear();
    pump_locked();       // what waited for the lease
    wake_.notify_one();  // the scheduler claims ahead again
  }
  if (reload_.exchange(false)) task_changed("");
  claim(std::move(due));
}

void Engine::task_changed(const std::string& task_id) {
  try {
    TaskService::reload(store_, *this, task_id);
  } catch (const StoreError&) {
    reload_ = true;  // at the next heartbeat
  } catch (const std::invalid_argument&) {
    // Stored before validation got stricter: not scheduled; the API reports it.
  }
}

void Engine::reload_schedules(const std::vector<ScheduleSpec>& specs) {
  std::unordered_set<std::string_view> enabled;
  for (const auto& spec : specs)
    enabled.insert(spec.id);
  std::lock_guard lock{mutex_};
  for (const auto& id : timetable_.task_ids()) {
    if (!enabled.contains(id)) timetable_.remove(id);
  }
  timetable_.load(specs, clock_.now());  // missed instants are the backups' to claim
  wake_.notify_one();
}

}  // namespace cronkit::engine
