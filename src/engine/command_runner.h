#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/task.h"
#include "engine/runner.h"

namespace cronkit::engine {

/// Who commands run as when the server, running as root, is told to (--command-user).
struct CommandUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary, the primary one included
  std::string home;
};

/// Looks a user up in the system's user database: its ids, groups and home. The error says
/// why not.
std::optional<CommandUser> find_command_user(const std::string& name, std::string& error);

using Environment = std::vector<std::pair<std::string, std::string>>;

struct CommandOptions {
  /// Off: every command attempt fails at once with a message saying how to allow them.
  bool allowed = false;
  /// Where programs run when their task names no working directory; also where the
  /// runner keeps the marks of its runs (see `state_directory` in docs/commands.md).
  std::string state_directory = ".";
  std::optional<CommandUser> user;
  /// Between SIGTERM to a program's process group and SIGKILL.
  std::chrono::milliseconds kill_grace{5000};
  /// What every program gets before its task's own variables: PATH, HOME, LANG and TZ of
  /// the server (those it has), never anything else of its environment.
  Environment base_environment = default_base_environment();
  /// The soft limit on open files that programs get (0: the server's). A server raises its
  /// own to carry many connections and programs; programs get what they would have had.
  rlim_t child_file_limit = 0;

  static Environment default_base_environment();
};

/// One program to run.
struct CommandRequest {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no slash
  Environment environment;        // the task's, over the base; CRONKIT_* are added
  std::string working_directory;  // empty: the state directory
  std::string input;              // written to its standard input, which is then closed
  // Who runs it, as the program sees it in CRONKIT_* variables.
  std::string task_id;
  std::string task_name;
  std::string execution_id;
  Millis scheduled_for = 0;
  int attempt = 1;
};

struct CommandResult {
  bool ok = false;        // exit status 0
  bool retryable = true;  // false when it could not be started (no such program)
  int exit_code = -1;     // when it exited
  int signal = 0;         // when a signal ended it
  std::string summary;    // "exit 0", "exit 3", "killed by SIGKILL", or why it did not start
  std::string output;     // standard output and error together, head and tail (CommandOutput)
};

/// The output of a program as it is kept: the first and the last 4 KiB, and how much was
/// cut between them. Memory stays bounded whatever the program writes.
class CommandOutput {
 public:
  static constexpr std::size_t kHead = 4096;
  static constexpr std::size_t kTail = 4096;

  void append(std::string_view bytes);
  std::uint64_t total() const { return total_; }
  /// All of it when it fits in head and tail; else the head, a line saying how many bytes
  /// were cut, and the tail, each cut at a character's edge; always printable UTF-8.
  std::string text() const;

 private:
  std::string head_;
  std::string tail_;  // a ring of the last kTail bytes once full
  std::size_t tail_start_ = 0;
  std::uint64_t total_ = 0;
};

/// Runs command tasks: each attempt is a program started directly (argv, no shell), in a
/// session and process group of its own, with a clean environment, its output captured,
/// and no file descriptor of the server. One thread waits for every program at once
/// (epoll on pidfds and pipes), so a thousand running programs need no thread each.
/// Cancelling an attempt (its deadline, `replace`, shutdown) sends SIGTERM to its whole
/// process group, then SIGKILL after the kill grace: no grandchild survives. A program's
/// leftovers in its group are ended the same way when it exits. Children die with the
/// server (PR_SET_PDEATHSIG), and what their descendants were doing when a server was
/// killed is ended by the next server started on the same state directory.
///   CommandRunner r{{.allowed = true}};  r.start();
///   r.run(1, {.argv = {"date"}}, [](CommandResult res) { ... });   r.cancel(1);
/// Thread-safe.
class CommandRunner final : public Runner {
 public:
  using Finished = std::function<void(CommandResult)>;

  explicit CommandRunner(CommandOptions options);
  ~CommandRunner() override;
  CommandRunner(const CommandRunner&) = delete;
  CommandRunner& operator=(const CommandRunner&) = delete;

  /// Ends what servers killed earlier on the same state directory left running, then
  /// starts the runner's thread.
  void start() override;
  /// Ends every running program (SIGTERM, SIGKILL after the grace) without reports, waits
  /// for them, and stops the thread.
  void stop() override;
  /// Starts a program; `finished` runs on the runner's thread when it has exited. `id`
  /// names it for cancel().
  void run(std::uint64_t id, CommandRequest request, Finished finished);
  using Runner::submit;
  void submit(std::vector<Job> jobs) override;
  /// Ends the program `id` (its whole process group); its callback is not called.
  void cancel(std::uint64_t id) override;

  std::size_t running() const { return running_; }
  const CommandOptions& options() const { return options_; }

  /// The request for a command task's attempt: its argv, environment, directory and input.
  static CommandRequest request_for(const Attempt& attempt);

 private:
  struct Child;
  struct Pending {
    std::uint64_t id;
    CommandRequest request;
    Finished finished;
  };
  using Steady = std::chrono::steady_clock;

  void loop();
  void take_pending();
  void spawn(Pending p);
  void terminate(Child& c, Steady::time_point now);
  void on_output(Child& c);
  void on_input(Child& c);
  void on_exit(Child& c);
  void close_child(std::uint64_t id);
  void reap_lingering(Steady::time_point now);
  void sweep_leftovers();

  const CommandOptions options_;
  int epoll_ = -1;
  int wake_ = -1;      // eventfd
  int dev_null_ = -1;  // standard input of programs given none
  int lock_fd_ = -1;   // held while this runner lives: its mark file
  std::string mark_;   // CRONKIT_SERVER_RUN of its programs
  std::string mark_path_;
  void* stack_ = nullptr;  // for the child between clone and exec
  std::size_t stack_size_ = 0;

  mutable std::mutex mutex_;
  std::vector<Pending> pending_;
  std::vector<std::uint64_t> cancelled_;
  bool stopping_ = false;

  std::unordered_map<std::uint64_t, std::unique_ptr<Child>> children_;  // runner thread only
  // Process groups whose leader exited (or was ended) while members may remain: SIGKILL at.
  std::vector<std::pair<pid_t, Steady::time_point>> lingering_;  // runner thread only
  std::atomic<std::size_t> running_{0};
  std::thread thread_;
};

}  // namespace cronkit::engine
