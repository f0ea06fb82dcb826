#include "engine/membership.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <utility>

#include "core/hash.h"

namespace cronkit::engine {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

}  // namespace

Membership::Membership(Cluster& cluster, Recorder& recorder, const Clock& clock,
                       MembershipOptions options, Hooks hooks)
    : cluster_(cluster),
      recorder_(recorder),
      clock_(clock),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      member_(cluster.member_id()) {}

Membership::~Membership() {
  stop();
}

void Membership::listen() {
  task_watch_ = cluster_.watch_tasks([this](const std::string& id) { told(id); });
}

void Membership::told(const std::string& task_id) {
  std::lock_guard lock{told_mutex_};
  if (!loaded_) {
    if (task_id.empty()) {
      told_all_ = true;
    } else if (!told_all_) {
      told_ids_.push_back(task_id);
    }
    return;
  }
  hooks_.task_changed(task_id);
}

void Membership::loaded() {
  std::lock_guard lock{told_mutex_};
  loaded_ = true;
  if (told_all_) {
    hooks_.task_changed("");
  } else {
    for (const auto& id : told_ids_)
      hooks_.task_changed(id);
  }
  told_ids_.clear();
  told_all_ = false;
}

void Membership::start() {
  if (!task_watch_) {
    listen();
    loaded();
  }
  thread_ = std::thread([this] { run(); });
}

void Membership::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  task_watch_.reset();
}

void Membership::leave() {
  try {
    // What waits here is taken over by the other members at once.
    cluster_.leave();
  } catch (const StoreError&) {
    // Then they take it over once this member's heartbeat is old enough.
  }
}

void Membership::run() {
  auto next = steady_clock::now();
  for (;;) {
    next += milliseconds{options_.heartbeat_ms};
    {
      Lock lock{mutex_};
      if (wake_.wait_until(lock, next, [&] { return stopping_; })) return;
    }
    next = std::max(next, steady_clock::now());  // a slow beat: none to make up
    beat();
  }
}

void Membership::beat() {
  auto sent = steady_clock::now();
  std::vector<std::string> alive;
  try {
    alive = cluster_.heartbeat(options_.node_id, options_.dead_after_ms);
    // Others take over a member silent for dead_after_ms (by the database's clock, which
    // saw each heartbeat after it was sent): from one interval before that, this member
    // assumes they did, forgets its work and starts over under a new id.
    bool start_over = false;
    {
      std::lock_guard lock{mutex_};
      start_over = last_beat_ != steady_clock::time_point{} &&
                   steady_clock::now() - last_beat_ >
                       milliseconds{options_.dead_after_ms - options_.heartbeat_ms};
      if (start_over) watches_.clear();
    }
    if (start_over) {
      hooks_.abandon();
      // What this member finished is written under its old id first (nobody else may have
      // taken it over yet); then its unfinished rows are taken over like any silent member's.
      recorder_.wait_written(std::chrono::seconds{2});
      cluster_.rejoin();
      {
        std::lock_guard lock{mutex_};
        member_ = cluster_.member_id();
      }
      sent = steady_clock::now();
      alive = cluster_.heartbeat(options_.node_id, options_.dead_after_ms);
    }
  } catch (const StoreError&) {
    return;  // the lease runs out by itself: nothing starts until a heartbeat gets through
  }
  {
    std::lock_guard lock{mutex_};
    last_beat_ = sent;
    members_ = std::move(alive);
    if (!std::ranges::binary_search(members_, member_)) {
      members_.insert(std::ranges::lower_bound(members_, member_), member_);
    }
  }
  hooks_.renewed();

  // Silent members' executions.
  try {
    Takeover taken = cluster_.take_over(options_.dead_after_ms, clock_.now(),
                                        "interrupted: its server stopped responding");
    {
      std::lock_guard lock{mutex_};
      taken_over_ += static_cast<std::int64_t>(taken.queued.size() + taken.interrupted.size());
    }
    if (!taken.interrupted.empty()) hooks_.interrupted(taken.interrupted);
    std::ranges::move(taken.queued, std::back_inserter(to_adopt_));
  } catch (const StoreError&) {
    // Taken over at a later heartbeat, by this member or another.
  }
  if (!to_adopt_.empty()) {
    try {
      hooks_.adopt(std::exchange(to_adopt_, {}));
    } catch (const StoreError&) {
      // Nothing was taken on: again at the next heartbeat. (The rows are this member's:
      // nobody else runs them while it is alive.)
    }
  }

  // Firings owned by others, checked once backup_after_ms have passed: claimed here if
  // nobody did (their owner died or never knew of the task).
  // At most as many as the engine has room for (back-pressure: a member that cannot run
  // more does not take on others' work), but every one that is too late to run, to be
  // recorded as skipped.
  const std::size_t room = hooks_.room ? hooks_.room() : std::numeric_limits<std::size_t>::max();
  std::vector<DueFiring> watched;
  {
    std::lock_guard lock{mutex_};
    const Millis now = clock_.now();
    std::size_t in_time = 0;
    while (!watches_.empty()) {
      const Millis starts = std::max(watches_.front().scheduled_for, watches_.front().starts_at);
      if (starts + options_.backup_after_ms > now) break;
      const bool late = now - starts > options_.misfire_grace_ms;
      if (!late && in_time >= room) break;
      in_time += late ? 0 : 1;
      watched.push_back(std::move(watches_.front()));
      watches_.pop_front();
    }
  }
  if (watched.empty()) return;
  std::vector<Firing> firings;
  firings.reserve(watched.size());
  for (const auto& w : watched)
    firings.push_back({w.task_id, w.scheduled_for});
  std::vector<DueFiring> unclaimed;
  try {
    auto claimed = cluster_.claimed(firings);
    for (std::size_t i = 0; i < watched.size(); ++i) {
      if (!claimed[i]) unclaimed.push_back(std::move(watched[i]));
    }
  } catch (const StoreError&) {
    std::lock_guard lock{mutex_};
    watches_.insert(watches_.begin(), std::make_move_iterator(watched.begin()),
                    std::make_move_iterator(watched.end()));
    return;
  }
  if (!unclaimed.empty()) hooks_.unclaimed(std::move(unclaimed));
}

bool Membership::lease_valid() const {
  std::lock_guard lock{mutex_};
  return lease_valid_locked();
}

bool Membership::lease_valid_locked() const {
  return last_beat_ != steady_clock::time_point{} &&
         steady_clock::now() - last_beat_ < milliseconds{options_.lease_ms};
}

bool Membership::owns(std::string_view task_id, Millis at) const {
  std::lock_guard lock{mutex_};
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

void Membership::watch(DueFiring firing) {
  std::lock_guard lock{mutex_};
  watches_.push_back(std::move(firing));
}

void Membership::forget_watches() {
  std::lock_guard lock{mutex_};
  watches_.clear();
}

std::string Membership::member() const {
  std::lock_guard lock{mutex_};
  return member_;
}

std::size_t Membership::live_members() const {
  std::lock_guard lock{mutex_};
  return members_.size();
}

std::int64_t Membership::taken_over() const {
  std::lock_guard lock{mutex_};
  return taken_over_;
}

}  // namespace cronkit::engine
