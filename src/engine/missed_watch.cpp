#include "engine/missed_watch.h"

#include "cron/cron_expr.h"
#include "cron/zone.h"
#include "engine/timetable.h"

namespace cronkit::engine {

MissedWatch::MissedWatch(Store& store, const Clock& clock, Millis interval_ms)
    : store_(store), clock_(clock), interval_ms_(interval_ms) {}

MissedWatch::~MissedWatch() {
  stop();
}

void MissedWatch::start() {
  std::lock_guard lock{mutex_};
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void MissedWatch::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int MissedWatch::check(Millis now) {
  int queued = 0;
  for (const Task& task : store_.tasks_telling(NotifyEvent::missed)) {
    auto expr = cron::CronExpr::parse(task.cron_expression);
    auto zone = cron::Zone::find(task.timezone);
    if (!expr || !zone) continue;  // refused when the task was saved
    const FiringPolicy policy{task.start_at, task.end_at, task.jitter_seconds};
    for (const auto& rule : task.notifications) {
      if (!rule.notifies(NotifyEvent::missed)) continue;
      // A firing may start up to its jitter after its instant, then has its grace.
      const Millis grace_ms = (rule.missed_grace_seconds + task.jitter_seconds) * Millis{1000};
      const auto instants = [&](Millis after, Millis until) {
        return instants_between(*expr, **zone, policy, after, until, kMaxCounted);
      };
      if (store_.check_missed(task, rule, now, now - grace_ms, grace_ms, instants)) ++queued;
    }
  }
  return queued;
}

void MissedWatch::loop() {
  std::unique_lock lock{mutex_};
  while (!stopping_) {
    lock.unlock();
    try {
      check(clock_.now());
    } catch (const StoreError&) {
      // The database is away: the next check covers these instants too.
    }
    lock.lock();
    const Millis until = clock_.now() + interval_ms_;
    while (!stopping_ && clock_.now() < until)
      clock_.wait_until(lock, wake_, until);
  }
}

}  // namespace cronkit::engine
