#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/store.h"
#include "core/task.h"
#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace cronkit::engine {

/// A firing the timetable hands out: a task's instant, from the schedule (its generation
/// tells which version of the schedule) or owed to a catch-up task.
struct DueFiring {
  std::string task_id;
  Millis scheduled_for = 0;
  Trigger trigger = Trigger::schedule;
  std::uint64_t generation = 0;  // 0: not from the schedule as it is now
  Millis starts_at = 0;          // later than the instant by the task's jitter delay, if any
  // A catch-up of every missed instant (catchUpPolicy `all`) continued: the last instant
  // already claimed. Without it, the task's latest stored instant.
  std::optional<Millis> after;
  // Found later than the misfire grace (the server was behind, stopped, or its clock
  // jumped): recorded as skipped, not run.
  bool missed = false;
};

/// How a task fires beyond its pattern: no instant before `start` or after `end` (epoch ms),
/// and each firing starts jitter_delay() after its instant.
struct FiringPolicy {
  std::optional<Millis> start;
  std::optional<Millis> end;
  int jitter_seconds = 0;
};

/// Every enabled task's next instant: one slot per task (parsed pattern, zone, next
/// instant; about 250 bytes with its id and heap entry, so a million tasks fit in 250 MB)
/// and one min-heap over them. No threads and no lock of its own: the engine's lock guards
/// it, and tests drive it with any clock.
///   Timetable t;  t.set(id, expr, zone, false, now, {.jitter_seconds = 30});
///   t.take_due(now + 800, now, 60000, [&](const Timetable::Due& d) { ...; return true; });
class Timetable {
 public:
  /// An instant taken off the heap.
  struct Due {
    const std::string& task_id;
    Millis at;         // the instant
    Millis starts_at;  // the instant plus the task's jitter delay
    std::uint64_t generation;
    bool catch_up;  // the task catches up on missed instants
    /// The instant came more than the misfire grace ago (the clock jumped forward, the
    /// process was stopped): then `latest_missed` is the last instant before now, for a
    /// catch-up task.
    bool missed;
    std::optional<Millis> latest_missed;
  };

  /// How a held firing stands against the schedule as it is now.
  enum class Standing {
    unchanged,  // the schedule it was claimed from
    changed,    // rescheduled since, and the new schedule still fires at that instant
    gone,       // unscheduled, or the new schedule does not fire then
  };

  /// Reserves room for `n` tasks: a million must not pay for containers grown by doubling.
  void reserve(std::size_t n);
  /// Adds a slot for each schedule it can parse (those stored before validation got stricter
  /// are left out: the API reports them); returns the catch-up firings they are owed: the
  /// latest instant before now, if it came after the task was created.
  std::vector<DueFiring> load(const std::vector<ScheduleSpec>& specs, Millis now);
  using Policy = FiringPolicy;
  /// Schedules a task from now on (a new generation: firings claimed before are checked
  /// against it when their instant comes).
  void set(const std::string& task_id, cron::CronExpr expr, const cron::Zone* zone, bool catch_up,
           Millis now, Policy policy = {});
  /// Stops scheduling a task; returns false if it was not scheduled.
  bool remove(std::string_view task_id);

  /// Takes every firing that starts at or before `until` off the heap, in the order they
  /// start, and calls `take` for each; a missed one (starting more than `misfire_grace`
  /// before `now`) is reported once, with the task's next instant computed from now.
  /// Otherwise the next instant is computed from the one taken, so that a late wake-up
  /// neither drifts nor skips. `take` returns true when the firing is claimed here: if its
  /// start is still ahead, it is *held* (shown as the task's next run until released).
  /// Once `limit` firings were claimed, the rest that are not missed stay on the heap for a
  /// later call (back-pressure: they are late, and missed once later than the grace).
  void take_due(Millis until, Millis now, Millis misfire_grace,
                const std::function<bool(const Due&)>& take,
                std::size_t limit = std::numeric_limits<std::size_t>::max());
  /// When the earliest firing on the heap starts.
  std::optional<Millis> earliest() const;

  /// Where a firing claimed from generation `generation` stands now.
  Standing standing(std::string_view task_id, std::uint64_t generation, Millis at) const;
  /// The held firing at `at` started (or was dropped): next_run() moves on.
  void release(std::string_view task_id, Millis at);
  /// Forgets every held firing.
  void release_all();

  /// When the firing of a task at `instant` starts: `instant` if the task is not scheduled.
  Millis starts_at(std::string_view task_id, Millis instant) const;
  /// When the task's next firing starts (a held one first), if it is scheduled.
  std::optional<Millis> next_run(std::string_view task_id) const;
  std::size_t size() const { return index_.size(); }
  bool contains(std::string_view task_id) const { return find(task_id) != nullptr; }
  std::vector<std::string> task_ids() const;
  /// Changes whenever next_run() of any task may have changed; readable without the lock.
  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  static constexpr Millis kNever = std::numeric_limits<Millis>::min();
  static constexpr Millis kForever = std::numeric_limits<Millis>::max();

  struct Slot {
    std::uint64_t generation = 0;
    Millis next = kNever;
    const std::string* task_id = nullptr;  // the key in index_; null when the slot is free
    const cron::Zone* zone = nullptr;      // zones stay loaded for the life of the process
    cron::CronExpr expr;
    bool catch_up = false;
    std::int32_t jitter_seconds = 0;
    Millis held = kNever;   // an instant claimed ahead that has not started yet
    Millis start = kNever;  // no instant before (kNever: unbounded)
    Millis end = kForever;  // nor after
    // The first instant after t within the window, or kNever.
    Millis next_after(Millis t) const;
    // The last instant at or before t within the window, if any.
    std::optional<Millis> latest_until(Millis t) const;
    bool within(Millis at) const { return at >= start && at <= end; }
    Millis starts_at(Millis at) const;
  };
  // When a task's next firing starts (its instant is the slot's `next`). `generation` tells
  // a live entry from one left behind by a reschedule: only the slot's current generation
  // fires.
  struct HeapEntry {
    Millis at;
    std::uint64_t generation;
    std::uint32_t slot;
    bool operator>(const HeapEntry& o) const { return at > o.at; }
  };
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const Slot* find(std::string_view task_id) const;
  void changed() { version_.fetch_add(1, std::memory_order_release); }

  // Slots in a vector (freed ones reused), the task id kept once, as the key of index_.
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::unordered_map<std::string, std::uint32_t, IdHash, std::equal_to<>> index_;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
  std::uint64_t next_generation_ = 1;
  std::atomic<std::uint64_t> version_{0};
};

/// How long after `instant` a firing of a task starts: in [0, limit_ms), spread evenly, and
/// a pure function of its arguments, so that every server of a cluster and every restart
/// agree. The limit is the task's jitter, or the time to its following instant if that is
/// sooner, so that its firings start in order.
Millis jitter_delay(std::string_view task_id, Millis instant, Millis limit_ms);

/// The instants of a pattern in (after, until] that `policy` lets fire, oldest first, at
/// most `limit`.
std::vector<Millis> instants_between(const cron::CronExpr& expr, const cron::Zone& zone,
                                     const FiringPolicy& policy, Millis after, Millis until,
                                     std::size_t limit);

/// Engine time (epoch ms) to and from the cron engine's instants (whole seconds).
cron::Instant to_instant(Millis t);
Millis to_millis(cron::Instant t);

}  // namespace cronkit::engine
