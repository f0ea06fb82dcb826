// Servers killed with SIGKILL on a SQLite file, restarted on the same file: every firing
// ends with exactly one record, in a terminal state; an attempt starts only once it is
// stored as running, so one that may have started when its server died is recorded as
// interrupted and never started again (at most once), and every other firing runs exactly
// once. The functions mark each attempt's start in a file (tests/integration/
// marking_server.cpp), which is how the test knows what started.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/clock.h"
#include "core/ids.h"
#include "store/open_store.h"

extern char** environ;

namespace cronkit {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The standard cronkit plus the marking "sleep" and "crash" functions.
constexpr const char* kServer = CRONKIT_SERVER_BIN;

pid_t spawn_server(const std::string& db, const fs::path& log) {
  std::vector<std::string> args = {
      kServer, "serve", "--db", db, "--port", "0", "--max-concurrency", "8", "--shutdown-grace",
      "10"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, kServer, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "cannot start " << kServer;
  return pid;
}

// How many start-up lines the server log holds.
int count_starts(const fs::path& log) {
  std::ifstream in{log};
  std::string line;
  int starts = 0;
  while (std::getline(in, line))
    starts += line.find(" info scheduling ") != std::string::npos;
  return starts;
}

// Waits until the server log holds `n` start-up lines.
bool wait_for_starts(const fs::path& log, int n) {
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
    if (count_starts(log) >= n) return true;
  }
  return false;
}

int stop(pid_t pid, int signal) {
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Execution id -> how many attempts of it started, from the functions' mark file.
std::map<std::string, int> started_attempts(const fs::path& marks) {
  std::map<std::string, int> started;
  std::ifstream in{marks};
  std::string id;
  int attempt = 0;
  while (in >> id >> attempt)
    ++started[id];
  return started;
}

// Waits (up to 30 s) until nothing is queued or running.
bool settled(Store& store) {
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms)) {
    Stats s = store.stats(SystemClock{}.now());
    if (s.queued == 0 && s.running == 0) return true;
  }
  return false;
}

fs::path fresh_directory() {
  const fs::path dir =
      fs::temp_directory_path() / ("cronkit-crash-" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  return dir;
}

TEST(Crash, EveryFiringEndsInExactlyOneTerminalRecord) {
  const fs::path dir = fresh_directory();
  const fs::path marks = dir / "started";
  const std::string db = "sqlite:" + (dir / "cronkit.db").string();
  std::vector<Task> tasks;
  {
    auto store = store::open_store(db);
    ASSERT_TRUE(store) << store.error();
    const Millis now = SystemClock{}.now();
    for (int i = 0; i < 12; ++i) {
      Task t;
      t.id = new_id(now);
      t.name = "sleeper " + std::to_string(i);
      t.cron_expression = "* * * * * *";
      t.function_name = "sleep";
      // 200-600 ms, and one of 2.5 s that runs across seconds, so that every kill (taken
      // at least 2.5 s after a start) finds something running.
      const int ms = i == 0 ? 2500 : 200 + 100 * (i % 5);
      t.function_payload =
          R"({"ms": )" + std::to_string(ms) + R"(, "file": ")" + marks.string() + R"("})";
      t.created_at = t.updated_at = now;
      ASSERT_TRUE((*store)->insert_task(t));
      tasks.push_back(t);
    }
  }

  std::mt19937 rng{std::random_device{}()};
  for (int round = 0; round < 3; ++round) {
    pid_t pid = spawn_server(db, dir / "server.log");
    std::this_thread::sleep_for(std::chrono::milliseconds{2500 + rng() % 1500});
    int status = stop(pid, SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "round " << round;
  }

  // One last start with nothing scheduled: it recovers what the last kill left, runs the
  // queued executions, and then stops cleanly.
  {
    auto store = store::open_store(db);
    ASSERT_TRUE(store);
    for (auto t : tasks) {
      t.enabled = false;
      ASSERT_TRUE((*store)->update_task(t));
    }
  }
  pid_t pid = spawn_server(db, dir / "server.log");
  ASSERT_TRUE(wait_for_starts(dir / "server.log", 4));
  auto store = store::open_store(db);
  ASSERT_TRUE(store);
  const bool done = settled(**store);
  int status = stop(pid, SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(done) << "executions left queued or running";

  auto all = (*store)->list_executions({.page = 1, .page_size = 1000});
  ASSERT_EQ(all.total, static_cast<std::int64_t>(all.list.size())) << "more than a page";
  std::set<std::pair<std::string, Millis>> instants;
  std::map<ExecutionStatus, int> by_status;
  std::map<std::string, int> started = started_attempts(marks);
  int interrupted = 0;
  for (const auto& e : all.list) {
    EXPECT_TRUE(is_terminal(e.status)) << e.id << " is " << to_string(e.status);
    EXPECT_TRUE(instants.insert({e.task_id, e.scheduled_for}).second)
        << "two executions for one instant of " << e.task_id;
    ++by_status[e.status];
    const int starts = started[e.id];
    if (e.error_message == "interrupted by restart") {
      ++interrupted;
      EXPECT_LE(starts, 1) << e.id << ", interrupted, started " << starts << " times";
    } else {
      EXPECT_EQ(starts, 1) << e.id << " (" << to_string(e.status) << ") started " << starts
                           << " times";
    }
    started.erase(e.id);
  }
  EXPECT_TRUE(started.empty()) << started.size() << " started attempts without a record, such as "
                               << started.begin()->first;
  EXPECT_GT(by_status[ExecutionStatus::success], 30) << "the tasks ran";
  EXPECT_GT(interrupted, 0) << "some executions were cut off by the kills";
  EXPECT_EQ(by_status[ExecutionStatus::failed], interrupted)
      << "the only failures are the interrupted runs";
  fs::remove_all(dir);
}

// The server dies the moment an attempt starts (its function kills the process), and is
// started again until a start survives: the attempt was stored as running before it
// started, so a start after the crash retries it while the task has retries left, and then
// records it as interrupted instead of starting it again. Returns the execution and the
// attempts that started.
struct Crashes {
  int starts_killed = 0;
  std::vector<Execution> executions;
  std::map<std::string, int> started;
};

Crashes crash_at_start(int retries) {
  Crashes out;
  const fs::path dir = fresh_directory();
  const fs::path marks = dir / "started";
  const std::string db = "sqlite:" + (dir / "cronkit.db").string();
  Task t;
  {
    auto store = store::open_store(db);
    EXPECT_TRUE(store) << store.error();
    const Millis now = SystemClock{}.now();
    t.id = new_id(now);
    t.name = "crashes at start";
    t.cron_expression = "* * * * * *";
    t.function_name = "crash";
    t.function_payload = R"({"file": ")" + marks.string() + R"("})";
    t.max_retries = retries;
    t.created_at = t.updated_at = now;
    EXPECT_TRUE((*store)->insert_task(t));
  }
  for (int start = 1; start <= retries + 3; ++start) {
    if (start == 2) {
      // No new firings from here on (the first server is dead): what runs is what it left.
      auto store = store::open_store(db);
      EXPECT_TRUE(store);
      t.enabled = false;
      EXPECT_TRUE((*store)->update_task(t));
    }
    const int logged = count_starts(dir / "server.log");
    pid_t pid = spawn_server(db, dir / "server.log");
    // Until it dies, or has started and has nothing left queued or running.
    auto store = store::open_store(db);
    EXPECT_TRUE(store);
    int status = 0;
    bool died = false;
    bool done = false;
    for (auto until = std::chrono::steady_clock::now() + 30s;
         !died && !done && std::chrono::steady_clock::now() < until;
         std::this_thread::sleep_for(20ms)) {
      died = waitpid(pid, &status, WNOHANG) == pid;
      const Stats s = (*store)->stats(SystemClock{}.now());
      done =
          start > 1 && count_starts(dir / "server.log") > logged && s.queued == 0 && s.running == 0;
    }
    if (!died) status = stop(pid, SIGTERM);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      ++out.starts_killed;
      continue;
    }
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "start " << start;
    EXPECT_TRUE(done) << "executions left queued or running";
    out.executions = (*store)->list_executions({.page = 1, .page_size = 100}).list;
    break;
  }
  out.started = started_attempts(marks);
  fs::remove_all(dir);
  return out;
}

TEST(Crash, AnAttemptThatMayHaveStartedIsNeverStartedAgain) {
  Crashes c = crash_at_start(0);
  EXPECT_EQ(c.starts_killed, 1) << "the attempt started again after the restart";
  ASSERT_EQ(c.executions.size(), 1U);
  const Execution& e = c.executions.front();
  EXPECT_EQ(e.status, ExecutionStatus::failed);
  EXPECT_EQ(e.error_message, "interrupted by restart");
  EXPECT_EQ(c.started, (std::map<std::string, int>{{e.id, 1}}));
}

// At least once with retries: each start after a crash retries the attempt while the task
// has retries left (every attempt carries the same execution id, for the receiver to
// de-duplicate), then records it as interrupted.
TEST(Crash, AnInterruptedAttemptIsRetriedWhileTheTaskHasRetriesLeft) {
  Crashes c = crash_at_start(2);
  EXPECT_EQ(c.starts_killed, 3) << "the first start and both retries crashed";
  ASSERT_EQ(c.executions.size(), 1U);
  const Execution& e = c.executions.front();
  EXPECT_EQ(e.status, ExecutionStatus::failed);
  EXPECT_EQ(e.error_message, "interrupted by restart");
  EXPECT_EQ(e.attempts, 3);
  EXPECT_EQ(c.started, (std::map<std::string, int>{{e.id, 3}}));
}

}  // namespace
}  // namespace cronkit
