// A server running tasks is killed with SIGKILL again and again, restarted on the same
// file each time; in the end every firing has exactly one record, in a terminal state.
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

// The example program: the standard cronkit plus a "sleep" function.
constexpr const char* kServer = CRONKIT_EMBEDDED_BIN;

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

// Waits until the server log holds `n` start-up lines.
bool wait_for_starts(const fs::path& log, int n) {
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(10ms)) {
    std::ifstream in{log};
    std::string line;
    int starts = 0;
    while (std::getline(in, line))
      starts += line.find(" info scheduling ") != std::string::npos;
    if (starts >= n) return true;
  }
  return false;
}

int stop(pid_t pid, int signal) {
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(Crash, EveryFiringEndsInExactlyOneTerminalRecord) {
  const fs::path dir =
      fs::temp_directory_path() / ("cronkit-crash-" + std::to_string(std::random_device{}()));
  fs::create_directories(dir);
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
      t.function_payload = R"({"ms": )" + std::to_string(ms) + "}";
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
  bool settled = false;
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms)) {
    Stats s = (*store)->stats(SystemClock{}.now());
    if (s.queued == 0 && s.running == 0) {
      settled = true;
      break;
    }
  }
  int status = stop(pid, SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_TRUE(settled) << "executions left queued or running";

  auto all = (*store)->list_executions({.page = 1, .page_size = 1000});
  ASSERT_EQ(all.total, static_cast<std::int64_t>(all.list.size())) << "more than a page";
  std::set<std::pair<std::string, Millis>> instants;
  std::map<ExecutionStatus, int> by_status;
  int interrupted = 0;
  for (const auto& e : all.list) {
    EXPECT_TRUE(is_terminal(e.status)) << e.id << " is " << to_string(e.status);
    EXPECT_TRUE(instants.insert({e.task_id, e.scheduled_for}).second)
        << "two executions for one instant of " << e.task_id;
    ++by_status[e.status];
    if (e.error_message == "interrupted by restart") ++interrupted;
  }
  EXPECT_GT(by_status[ExecutionStatus::success], 30) << "the tasks ran";
  EXPECT_GT(interrupted, 0) << "some executions were cut off by the kills";
  EXPECT_EQ(by_status[ExecutionStatus::failed], interrupted)
      << "the only failures are the interrupted runs";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cronkit
