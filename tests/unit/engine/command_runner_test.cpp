// The command runner with real programs: exit statuses, signals, output, input, the
// environment, process groups, and what is left behind.
#include "engine/command_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <thread>

namespace cronkit::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A process that has exited: gone, or a zombie nobody reaped yet.
bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const auto close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] == 'Z';
}

bool eventually_gone(pid_t pid, std::chrono::milliseconds within = 20s) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (!gone(pid)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Waits for a file that a program writes, and returns its first line.
std::string wait_for_line(const fs::path& p) {
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < until) {
    std::string text = read_file(p);
    if (auto nl = text.find('\n'); nl != std::string::npos) return text.substr(0, nl);
    std::this_thread::sleep_for(10ms);
  }
  ADD_FAILURE() << "nothing written to " << p;
  return "0";
}

class CommandRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cronkit-commands-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (runner_) runner_->stop();
    runner_.reset();
    fs::remove_all(dir_);
  }

  CommandRunner& runner(CommandOptions o = {}) {
    if (!runner_) {
      o.allowed = o.allowed || !off_;
      if (o.state_directory == ".") o.state_directory = dir_.string();
      o.kill_grace = o.kill_grace == 5000ms ? 300ms : o.kill_grace;
      runner_ = std::make_unique<CommandRunner>(std::move(o));
      runner_->start();
    }
    return *runner_;
  }

  CommandResult request(CommandRequest req) {
    std::promise<CommandResult> done;
    auto result = done.get_future();
    runner().run(next_id_++, std::move(req),
                 [&done](CommandResult r) { done.set_value(std::move(r)); });
    EXPECT_EQ(result.wait_for(60s), std::future_status::ready);
    return result.get();
  }

  CommandResult run(std::vector<std::string> argv) { return request({.argv = std::move(argv)}); }

  fs::path dir_;
  bool off_ = false;
  std::unique_ptr<CommandRunner> runner_;
  std::uint64_t next_id_ = 1;
};

TEST_F(CommandRunnerTest, ExitStatusZeroIsSuccess) {
  auto r = run({"true"});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.summary, "exit 0");
  EXPECT_EQ(r.output, "");
}

TEST_F(CommandRunnerTest, OtherExitStatusesFailAndMayBeRetried) {
  auto r = run({"/bin/sh", "-c", "exit 3"});
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.retryable);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.summary, "exit 3");
}

TEST_F(CommandRunnerTest, DeathByASignalIsNamed) {
  auto r = run({"/bin/sh", "-c", "kill -USR1 $$"});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.signal, SIGUSR1);
  EXPECT_EQ(r.summary, "killed by SIGUSR1");
}

TEST_F(CommandRunnerTest, NoShellUnlessAsked) {
  auto r = run({"echo", "$HOME", "a  b", "*", ";", "true"});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.output, "$HOME a  b * ; true\n");
}

TEST_F(CommandRunnerTest, OutputAndErrorTogetherInOrder) {
  auto r = run({"/bin/sh", "-c", "echo out1; echo err1 >&2; echo out2; echo err2 >&2"});
  EXPECT_EQ(r.output, "out1\nerr1\nout2\nerr2\n");
}

TEST_F(CommandRunnerTest, AHundredMegabytesKeepTheirHeadAndTail) {
  auto r = run(
      {"/bin/sh", "-c", "echo FIRST; head -c 104857600 /dev/zero | tr '\\0' x; echo; echo LAST"});
  ASSERT_TRUE(r.ok) << r.summary;
  const std::uint64_t written = 6 + 104857600 + 1 + 5;
  const std::string marker =
      "\n[... " + std::to_string(written - 4096 - 4096) + " bytes cut ...]\n";
  EXPECT_EQ(r.output.size(), 4096 + marker.size() + 4096);
  EXPECT_TRUE(r.output.starts_with("FIRST\nxxx"));
  EXPECT_EQ(r.output.substr(4096, marker.size()), marker);
  EXPECT_TRUE(r.output.ends_with("xxx\nLAST\n"));
}

TEST_F(CommandRunnerTest, OutputThatFitsIsKeptWhole) {
  auto r = run({"/bin/sh", "-c", "head -c 8192 /dev/zero | tr '\\0' y"});
  EXPECT_EQ(r.output, std::string(8192, 'y'));
}

TEST_F(CommandRunnerTest, InputIsWrittenThenClosed) {
  auto r = request({.argv = {"cat"}, .input = "hello\nworld"});
  EXPECT_EQ(r.output, "hello\nworld");
  std::string big(1 << 20, 'i');
  auto counted = request({.argv = {"wc", "-c"}, .input = big});
  EXPECT_EQ(counted.output, "1048576\n");
  // A program that does not read its input ends normally, and so does the server.
  auto ignored = request({.argv = {"true"}, .input = big});
  EXPECT_TRUE(ignored.ok);
  auto none = run({"cat"});
  EXPECT_TRUE(none.ok) << "no input: an empty one, closed";
  EXPECT_EQ(none.output, "");
}

TEST_F(CommandRunnerTest, OnlyTheBaseTheTasksAndCronkitVariables) {
  ::setenv("CRONKIT_API_TOKEN", "server-secret", 1);
  ::setenv("CRONKIT_DB", "postgresql://u:pw@db/x", 1);
  auto r = request({.argv = {"env"},
                    .environment = {{"GREETING", "hello world"}, {"PATH", "/usr/bin:/bin"}},
                    .task_id = "t1",
                    .task_name = "nightly backup",
                    .execution_id = "e1",
                    .scheduled_for = 1772953200000,
                    .attempt = 2});
  ::unsetenv("CRONKIT_API_TOKEN");
  ::unsetenv("CRONKIT_DB");
  std::set<std::string> lines;
  std::istringstream in(r.output);
  for (std::string line; std::getline(in, line);)
    lines.insert(line);
  std::set<std::string> names;
  for (const auto& l : lines)
    names.insert(l.substr(0, l.find('=')));
  std::set<std::string> allowed = {"PATH",
                                   "HOME",
                                   "LANG",
                                   "TZ",
                                   "GREETING",
                                   "CRONKIT_TASK_ID",
                                   "CRONKIT_TASK_NAME",
                                   "CRONKIT_EXECUTION_ID",
                                   "CRONKIT_SCHEDULED_FOR",
                                   "CRONKIT_ATTEMPT",
                                   "CRONKIT_SERVER_RUN"};
  for (const auto& n : names)
    EXPECT_TRUE(allowed.contains(n)) << n << " came from the server's environment";
  EXPECT_TRUE(lines.contains("GREETING=hello world"));
  EXPECT_TRUE(lines.contains("PATH=/usr/bin:/bin")) << "the task's own wins";
  EXPECT_TRUE(lines.contains("CRONKIT_TASK_ID=t1"));
  EXPECT_TRUE(lines.contains("CRONKIT_TASK_NAME=nightly backup"));
  EXPECT_TRUE(lines.contains("CRONKIT_EXECUTION_ID=e1"));
  EXPECT_TRUE(lines.contains("CRONKIT_SCHEDULED_FOR=2026-03-08T07:00:00Z"));
  EXPECT_TRUE(lines.contains("CRONKIT_ATTEMPT=2"));
  EXPECT_EQ(r.output.find("server-secret"), std::string::npos);
  EXPECT_EQ(r.output.find("pw@db"), std::string::npos);
}

TEST_F(CommandRunnerTest, WorkingDirectoryDefaultsToTheStateDirectory) {
  EXPECT_EQ(request({.argv = {"pwd"}, .working_directory = "/tmp"}).output, "/tmp\n");
  EXPECT_EQ(run({"pwd"}).output, fs::canonical(dir_).string() + "\n");
}

TEST_F(CommandRunnerTest, ProgramsAreFoundInThePathOfTheirEnvironment) {
  fs::create_directories(dir_ / "bin");
  std::ofstream(dir_ / "bin" / "hello-cronkit") << "#!/bin/sh\necho found me\n";
  fs::permissions(dir_ / "bin" / "hello-cronkit", fs::perms::owner_all);
  auto r = request({.argv = {"hello-cronkit"},
                    .environment = {{"PATH", (dir_ / "bin").string() + ":/usr/bin:/bin"}}});
  EXPECT_TRUE(r.ok) << r.summary;
  EXPECT_EQ(r.output, "found me\n");
}

TEST_F(CommandRunnerTest, WhatCannotStartFailsClearlyAndIsNotRetried) {
  auto missing = run({"no-such-program-here", "--flag"});
  EXPECT_FALSE(missing.ok);
  EXPECT_FALSE(missing.retryable);
  EXPECT_TRUE(missing.summary.starts_with("program not found: no-such-program-here is not in PATH"))
      << missing.summary;

  auto absent = run({"/nonexistent/tool"});
  EXPECT_FALSE(absent.retryable);
  EXPECT_EQ(absent.summary, "cannot run /nonexistent/tool: No such file or directory");

  std::ofstream(dir_ / "plain.txt") << "not a program\n";
  auto plain = run({(dir_ / "plain.txt").string()});
  EXPECT_FALSE(plain.retryable);
  if (geteuid() != 0) {
    EXPECT_EQ(plain.summary, "cannot run " + (dir_ / "plain.txt").string() + ": Permission denied");
  } else {
    EXPECT_TRUE(plain.summary.starts_with("cannot run ")) << plain.summary;
  }

  auto nowhere = request({.argv = {"pwd"}, .working_directory = "/nonexistent/dir"});
  EXPECT_FALSE(nowhere.retryable);
  EXPECT_EQ(nowhere.summary, "working directory /nonexistent/dir: No such file or directory");
}

TEST_F(CommandRunnerTest, NoFileDescriptorOfTheServerIsInherited) {
  // An open file the server did not mark close-on-exec.
  const int leaky = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 3);
  auto r = run({"ls", "/proc/self/fd"});
  ::close(leaky);
  // 0, 1 and 2, and ls's own handle on the directory it lists.
  EXPECT_EQ(r.output, "0\n1\n2\n3\n");
}

TEST_F(CommandRunnerTest, EachProgramLeadsItsOwnSessionAndGroup) {
  auto r = run({"/bin/sh", "-c", "echo $$; ps -o pgid= -o sid= -p $$"});
  std::istringstream in(r.output);
  long pid = 0, pgid = 0, sid = 0;
  in >> pid >> pgid >> sid;
  EXPECT_GT(pid, 0);
  EXPECT_EQ(pgid, pid);
  EXPECT_EQ(sid, pid);
}

TEST_F(CommandRunnerTest, CancelEndsTheWholeGroupEvenWhatIgnoresSigterm) {
  const auto pids = dir_ / "pids";
  std::promise<CommandResult> never;
  runner().run(
      7,
      {.argv = {"/bin/sh", "-c",
                "trap '' TERM; sh -c 'trap \"\" TERM; echo $$ >> " + pids.string() +
                    "; while :; do sleep 1; done' & echo $$ >> " + pids.string() + "; wait"}},
      [&](CommandResult r) { never.set_value(std::move(r)); });
  const auto until = std::chrono::steady_clock::now() + 20s;
  std::vector<pid_t> seen;
  while (seen.size() < 2 && std::chrono::steady_clock::now() < until) {
    seen.clear();
    std::istringstream in(read_file(pids));
    for (long p; in >> p;)
      seen.push_back(static_cast<pid_t>(p));
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(seen.size(), 2u);
  runner_->cancel(7);
  for (pid_t p : seen)
    EXPECT_TRUE(eventually_gone(p)) << p << " survived";
  EXPECT_TRUE(runner_->running() == 0 || eventually_gone(seen[0]));
  EXPECT_EQ(never.get_future().wait_for(0s), std::future_status::timeout) << "no report";
}

TEST_F(CommandRunnerTest, WhatAProgramLeavesInItsGroupIsEndedAfterIt) {
  const auto pid_file = dir_ / "left";
  auto r = run({"/bin/sh", "-c", "sleep 1000 & echo $! > " + pid_file.string()});
  EXPECT_TRUE(r.ok);
  const pid_t left = static_cast<pid_t>(std::stol(wait_for_line(pid_file)));
  EXPECT_TRUE(eventually_gone(left));
}

TEST_F(CommandRunnerTest, StopEndsEveryProgramAndReportsNone) {
  const auto pid_file = dir_ / "pid";
  bool reported = false;
  runner().run(
      1,
      {.argv = {"/bin/sh", "-c",
                "trap '' TERM; echo $$ > " + pid_file.string() + "; while :; do sleep 1; done"}},
      [&](CommandResult) { reported = true; });
  const pid_t pid = static_cast<pid_t>(std::stol(wait_for_line(pid_file)));
  runner_->stop();
  EXPECT_TRUE(gone(pid)) << "stop() returns once its programs are gone";
  EXPECT_FALSE(reported);
}

TEST_F(CommandRunnerTest, OffFailsEveryAttemptSayingHow) {
  off_ = true;
  auto r = run({"true"});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.retryable);
  EXPECT_EQ(r.summary,
            "command tasks are off on this server: start it with --allow-commands "
            "(CRONKIT_ALLOW_COMMANDS=1) to run them");
}

TEST_F(CommandRunnerTest, ProgramsGetTheFileLimitTheServerStartedWith) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  auto r = runner({.child_file_limit = 512}).options().child_file_limit;
  EXPECT_EQ(r, 512u);
  EXPECT_EQ(run({"/bin/sh", "-c", "ulimit -n"}).output, "512\n");
  rlimit after{};
  getrlimit(RLIMIT_NOFILE, &after);
  EXPECT_EQ(after.rlim_cur, limit.rlim_cur) << "the server's own is unchanged";
}

TEST_F(CommandRunnerTest, AThousandProgramsAtOnceOnOneThread) {
  // Two descriptors each: the server raises its soft limit the same way (serve).
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &raised), 0);
  ASSERT_GE(raised.rlim_cur, 2100u) << "the hard limit on open files is too low for this test";
  constexpr int kPrograms = 1000;
  std::mutex m;
  std::condition_variable cv;
  int done = 0;
  int ok = 0;
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < kPrograms; ++i) {
    runner().run(static_cast<std::uint64_t>(i + 1), {.argv = {"sleep", "1"}}, [&](CommandResult r) {
      std::lock_guard lock{m};
      ++done;
      ok += r.ok ? 1 : 0;
      cv.notify_all();
    });
  }
  std::unique_lock lock{m};
  EXPECT_TRUE(cv.wait_for(lock, 120s, [&] { return done == kPrograms; }));
  EXPECT_EQ(ok, kPrograms);
  // All at once: far less than a thousand seconds, one after another.
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 300s);
  setrlimit(RLIMIT_NOFILE, &limit);
}

TEST_F(CommandRunnerTest, RunsAsAnotherUserWhenRoot) {
  std::string error;
  auto nobody = find_command_user("nobody", error);
  ASSERT_TRUE(nobody) << error;
  EXPECT_EQ(nobody->uid, 65534u);
  EXPECT_FALSE(find_command_user("no-such-user-cronkit", error));
  EXPECT_EQ(error, "no such user");
  if (geteuid() != 0) GTEST_SKIP() << "runs as another user only as root (CI runs as root)";
  runner({.user = nobody});
  auto r = request(
      {.argv = {"/bin/sh", "-c", "id -u; id -g; id -G; echo $HOME"}, .working_directory = "/"});
  EXPECT_TRUE(r.ok) << r.summary << r.output;
  EXPECT_EQ(r.output, "65534\n65534\n65534\n" + nobody->home + "\n");
}

TEST(CommandOutput, KeepsHeadAndTailAndCountsTheCut) {
  CommandOutput o;
  o.append(std::string(4096, 'h'));
  o.append("middle");
  o.append(std::string(4096, 't'));
  EXPECT_EQ(o.text(),
            std::string(4096, 'h') + "\n[... 6 bytes cut ...]\n" + std::string(4096, 't'));
  CommandOutput byte_by_byte;
  for (int i = 0; i < 10000; ++i)
    byte_by_byte.append(std::string(1, static_cast<char>('a' + i % 26)));
  EXPECT_EQ(byte_by_byte.total(), 10000u);
  std::string head, tail;
  for (int i = 0; i < 4096; ++i)
    head += static_cast<char>('a' + i % 26);
  for (int i = 10000 - 4096; i < 10000; ++i)
    tail += static_cast<char>('a' + i % 26);
  EXPECT_EQ(byte_by_byte.text(), head + "\n[... 1808 bytes cut ...]\n" + tail);
}

TEST(CommandOutput, CutsAtCharacterEdges) {
  CommandOutput o;
  // "é" (2 bytes) across the head's end, and across the tail's start.
  o.append(std::string(4095, 'a') + "\xC3\xA9" + std::string(100, 'm') + "\xC3\xA9" +
           std::string(4095, 'z'));
  const std::string t = o.text();
  EXPECT_EQ(t, std::string(4095, 'a') + "\n[... 104 bytes cut ...]\n" + std::string(4095, 'z'));
}

}  // namespace
}  // namespace cronkit::engine
