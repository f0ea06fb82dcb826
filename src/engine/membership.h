#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/cluster.h"
#include "engine/recorder.h"
#include "engine/timetable.h"

namespace cronkit::engine {

struct MembershipOptions {
  std::string node_id;
  Millis heartbeat_ms = 1000;
  Millis lease_ms = 3000;
  Millis dead_after_ms = 6000;
  Millis backup_after_ms = 3000;
  // A watched firing older than this is checked whatever room the engine has (a late one
  // is recorded as skipped, not run).
  Millis misfire_grace_ms = 60000;
};

/// This server's place among the servers sharing one database (docs/architecture.md,
/// "Several servers, one database"): its heartbeat and lease, which live member owns which
/// firing, the takeover of silent members' executions, and the backup check of firings
/// owned by others. Runs the cluster thread; tells the engine what it must do through
/// Hooks, called on that thread without any lock of its own held. Its lock is a leaf: the
/// engine may call it while holding the engine's.
class Membership {
 public:
  struct Hooks {
    /// This member was silent so long that others may have taken over its work: forget
    /// all of it (their writes would be refused now) before it starts over as a new member.
    std::function<void()> abandon;
    /// A heartbeat reached the database: the lease holds again, what waited for it may
    /// start.
    std::function<void()> renewed;
    /// Executions taken over from silent members: `queued` are now this member's to run;
    /// `interrupted` were recorded failed. Throws StoreError if they cannot be taken on
    /// now (tried again at the next heartbeat).
    std::function<void(std::vector<Execution> queued)> adopt;
    std::function<void(const std::vector<Execution>& interrupted)> interrupted;
    /// Firings owned by another member that nobody claimed within backup_after_ms.
    std::function<void(std::vector<DueFiring>)> unclaimed;
    /// How many firings the engine may claim now (back-pressure): at most that many
    /// watched firings are checked, the rest wait in order. Unset: no limit.
    std::function<std::size_t()> room;
    /// Another member changed a task ("": changes may have been missed, reload them all).
    std::function<void(const std::string& task_id)> task_changed;
  };

  Membership(Cluster& cluster, Recorder& recorder, const Clock& clock, MembershipOptions options,
             Hooks hooks);
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  /// Renews the heartbeat, takes over silent members' work (this server's own from before
  /// a restart among it), checks others' firings. Done once a second by the cluster thread,
  /// and once by the engine at start before it loads the schedules.
  void beat();
  /// Listens for other members' task changes, before the engine loads its schedules: a
  /// change told before loaded() waits for it (the load may have read the task before the
  /// change or after), then is passed on.
  void listen();
  /// The engine has loaded its schedules: passes on the changes told meanwhile.
  void loaded();
  /// Starts the cluster thread (and listens, if listen() was not called).
  void start();
  /// Stops both; then leave() tells the others that what waits here is theirs at once.
  void stop();
  void leave();

  /// False while this member may not start executions: its last heartbeat that reached
  /// the database was sent more than lease_ms ago.
  bool lease_valid() const;
  /// Whether this member claims the firing: the live member with the highest hash of
  /// (member, task, instant) does (rendezvous hashing).
  bool owns(std::string_view task_id, Millis at) const;
  /// The firing is another member's: check at beat() once backup_after_ms have passed.
  void watch(DueFiring firing);
  /// Forgets every watched firing.
  void forget_watches();

  /// This member's id (it changes when the member starts over).
  std::string member() const;
  /// Members alive at the last heartbeat, this one included.
  std::size_t live_members() const;
  /// Executions taken over from silent members so far.
  std::int64_t taken_over() const;

 private:
  using Lock = std::unique_lock<std::mutex>;
  void run();
  bool lease_valid_locked() const;

  // Passes a told change on, or keeps it until loaded().
  void told(const std::string& task_id);

  Cluster& cluster_;
  Recorder& recorder_;
  const Clock& clock_;
  const MembershipOptions options_;
  const Hooks hooks_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string member_;                // this member's id
  std::vector<std::string> members_;  // alive, sorted
  // When the last heartbeat that reached the database was sent (steady clock).
  std::chrono::steady_clock::time_point last_beat_{};
  std::deque<DueFiring> watches_;
  std::int64_t taken_over_ = 0;
  std::vector<Execution> to_adopt_;  // taken over, not yet taken on (cluster thread only)
  std::thread thread_;
  // Told changes pass through told() one at a time (the watch's thread, or loaded()'s), so
  // that two reloads of one task cannot overtake each other.
  std::mutex told_mutex_;
  bool loaded_ = false;
  bool told_all_ = false;              // "" was told before loaded()
  std::vector<std::string> told_ids_;  // ids told before loaded(), in order
  std::unique_ptr<Subscription> task_watch_;
};

}  // namespace cronkit::engine
