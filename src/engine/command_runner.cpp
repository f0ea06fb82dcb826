#include "engine/command_runner.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <system_error>

#include "core/text.h"
#include "engine/http_runner.h"

namespace cronkit::engine {
namespace {

constexpr std::string_view kMarkVariable = "CRONKIT_SERVER_RUN";

std::string errno_text(int e) {
  return std::strerror(e);
}

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) return "SIG" + std::string(abbrev);
  return "signal " + std::to_string(sig);
}

// ---- the child, between clone and exec -------------------------------------------------
//
// The child shares the server's memory (CLONE_VM) while the runner's thread waits
// (CLONE_VFORK), as posix_spawn does: starting a program costs the same whatever the size
// of the server. So it only makes system calls, directly: no allocation, no locks, nothing
// a sanitizer would track, and glibc's set*id would try to change every thread of the
// server.

struct SpawnPlan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* cwd = nullptr;
  int in_fd = -1;
  int out_fd = -1;
  const gid_t* groups = nullptr;
  std::size_t group_count = 0;
  long uid = -1;  // -1: stay who the server is
  long gid = -1;
  rlimit files{};  // RLIMIT_NOFILE to restore; rlim_cur 0: leave it
  pid_t parent = 0;
  // Set by the child when a step fails (it then exits with 127).
  int error = 0;
  const char* step = nullptr;
};

struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};

#define CRONKIT_CHILD __attribute__((no_sanitize("address", "thread", "undefined")))

[[noreturn]] CRONKIT_CHILD void child_fail(SpawnPlan* s, const char* step) {
  s->error = errno;
  s->step = step;
  syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

CRONKIT_CHILD int child_main(void* arg) {
  auto* s = static_cast<SpawnPlan*>(arg);
  // Default dispositions (exec keeps ignored signals ignored), then no signal blocked.
  KernelSigaction dfl{SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, &dfl, nullptr, 8);
  }
  if (syscall(SYS_setsid) < 0) child_fail(s, "setsid");
  int in = s->in_fd;
  int out = s->out_fd;
  if (in <= 2 && (in = static_cast<int>(syscall(SYS_fcntl, in, F_DUPFD, 3))) < 0) {
    child_fail(s, "dup");
  }
  if (out <= 2 && (out = static_cast<int>(syscall(SYS_fcntl, out, F_DUPFD, 3))) < 0) {
    child_fail(s, "dup");
  }
  if (syscall(SYS_dup2, in, 0) < 0 || syscall(SYS_dup2, out, 1) < 0 ||
      syscall(SYS_dup2, out, 2) < 0) {
    child_fail(s, "dup");
  }
  if (s->cwd && syscall(SYS_chdir, s->cwd) < 0) child_fail(s, "chdir");
  if (s->uid >= 0) {
    if (syscall(SYS_setgroups, s->group_count, s->groups) < 0) child_fail(s, "setgroups");
    if (syscall(SYS_setgid, s->gid) < 0) child_fail(s, "setgid");
    if (syscall(SYS_setuid, s->uid) < 0) child_fail(s, "setuid");
  }
  // Dies with the server (set after setuid, which clears it). The parent cannot have
  // died yet (it waits for this exec), but a check costs nothing.
  if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) child_fail(s, "prctl");
  if (syscall(SYS_getppid) != s->parent) child_fail(s, "getppid");
  if (s->files.rlim_cur != 0 && syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &s->files, nullptr) < 0) {
    child_fail(s, "prlimit");
  }
  unsigned long empty = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, 8);
  // Nothing of the server's: database, listening socket, connections, log.
  if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) child_fail(s, "close_range");
  syscall(SYS_execve, s->path, s->argv, s->envp);
  child_fail(s, "exec");
}

// ---- the parent's side -----------------------------------------------------------------

// glibc's clone itself. ThreadSanitizer replaces clone with one that treats every child as
// a fork, which in a child sharing the server's memory would rewrite the sanitizer's own
// state under the server's threads; the child here runs nothing a sanitizer tracks.
using CloneFunction = int (*)(int (*)(void*), void*, int, void*, ...);
CloneFunction libc_clone() {
  static const CloneFunction found = [] {
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void* f = libc ? dlsym(libc, "clone") : nullptr;
    return f ? reinterpret_cast<CloneFunction>(f) : &::clone;
  }();
  return found;
}

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd = std::exchange(o.fd, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string variable(const Environment& env, std::string_view name) {
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return {};
}

bool executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// argv[0] as execve wants it: as it is when it has a slash, else found in PATH (relative
// entries taken from the working directory, as the program's own lookups would).
std::optional<std::string> resolve(const std::string& program, const std::string& path_list,
                                   const std::string& cwd) {
  if (program.find('/') != std::string::npos) return program;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = path_list.find(':', start);
    std::string dir = path_list.substr(start, end == std::string::npos ? end : end - start);
    if (dir.empty()) dir = ".";
    if (dir.front() != '/') dir = cwd + "/" + dir;
    std::string candidate = dir + "/" + program;
    if (executable_file(candidate)) return candidate;
    if (end == std::string::npos) return std::nullopt;
    start = end + 1;
  }
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "getrandom");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

// Kills every process whose environment carries the mark, until none is left (they may
// fork meanwhile). Processes of other users are seen only by root, as are their programs.
void kill_marked(const std::string& mark) {
  const std::string needle = std::string(kMarkVariable) + "=" + mark;
  const pid_t self = getpid();
  for (int round = 0; round < 20; ++round) {
    int found = 0;
    DIR* proc = opendir("/proc");
    if (!proc) return;
    while (dirent* e = readdir(proc)) {
      char* end = nullptr;
      const long pid = std::strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0 || pid == self) continue;
      std::ifstream in("/proc/" + std::string(e->d_name) + "/environ", std::ios::binary);
      std::string entry;
      while (std::getline(in, entry, '\0')) {
        if (entry == needle) {
          ::kill(static_cast<pid_t>(pid), SIGKILL);
          ++found;
          break;
        }
      }
    }
    closedir(proc);
    if (found == 0) return;
  }
}

}  // namespace

// ---- CommandOutput ---------------------------------------------------------------------

void CommandOutput::append(std::string_view bytes) {
  total_ += bytes.size();
  if (head_.size() < kHead) {
    const std::size_t n = std::min(bytes.size(), kHead - head_.size());
    head_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  if (bytes.size() >= kTail) {
    tail_.assign(bytes.substr(bytes.size() - kTail));
    tail_start_ = 0;
    return;
  }
  for (char c : bytes) {
    if (tail_.size() < kTail) {
      tail_ += c;
    } else {
      tail_[tail_start_] = c;
      tail_start_ = (tail_start_ + 1) % kTail;
    }
  }
}

std::string CommandOutput::text() const {
  const std::string tail = tail_.substr(tail_start_) + tail_.substr(0, tail_start_);
  const std::uint64_t cut = total_ - head_.size() - tail.size();
  if (cut == 0) return printable_utf8(head_ + tail);
  // Cut at characters' edges: a sequence the cut split is left out, and counted.
  std::string_view head = head_;
  for (std::size_t back = 1; back <= 3 && back <= head.size(); ++back) {
    const auto b = static_cast<unsigned char>(head[head.size() - back]);
    if ((b & 0xc0) == 0x80) continue;  // a continuation byte: look further back
    if (b >= 0xc0 && utf8_sequence(head, head.size() - back) == 0) head.remove_suffix(back);
    break;
  }
  std::string_view rest = tail;
  while (!rest.empty() && rest.size() + 3 > tail.size() &&
         (static_cast<unsigned char>(rest.front()) & 0xc0) == 0x80) {
    rest.remove_prefix(1);
  }
  const std::uint64_t omitted = total_ - head.size() - rest.size();
  return printable_utf8(head) + "\n[... " + std::to_string(omitted) + " bytes cut ...]\n" +
         printable_utf8(rest);
}

// ---- users and the base environment ----------------------------------------------------

std::optional<CommandUser> find_command_user(const std::string& name, std::string& error) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (int e = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found); e != 0 || !found) {
    error = e != 0 ? errno_text(e) : "no such user";
    return std::nullopt;
  }
  CommandUser u{.name = name, .uid = pw.pw_uid, .gid = pw.pw_gid, .home = pw.pw_dir};
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (getgrouplist(name.c_str(), pw.pw_gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count));
  }
  groups.resize(static_cast<std::size_t>(count));
  u.groups = std::move(groups);
  return u;
}

Environment CommandOptions::default_base_environment() {
  Environment env;
  for (const char* name : {"PATH", "HOME", "LANG", "TZ"}) {
    if (const char* v = std::getenv(name)) env.emplace_back(name, v);
  }
  if (variable(env, "PATH").empty()) env.emplace_back("PATH", "/usr/local/bin:/usr/bin:/bin");
  return env;
}

// ---- the runner ------------------------------------------------------------------------

struct CommandRunner::Child {
  std::uint64_t id = 0;
  pid_t pid = 0;
  Fd pidfd;
  Fd out;
  Fd in;
  std::string input;
  std::size_t input_written = 0;
  CommandOutput output;
  Finished finished;
  bool cancelled = false;  // no report
  bool terminating = false;
  Steady::time_point kill_at{};
  bool killed = false;  // SIGKILL sent
};

namespace {
// What an epoll event is about: the child's id in the high bits, the kind in the low two.
enum Kind : std::uint64_t { kExit = 0, kOutput = 1, kInput = 2 };
constexpr std::uint64_t kWake = ~std::uint64_t{0};
std::uint64_t tag(std::uint64_t id, Kind k) {
  return (id << 2) | k;
}
}  // namespace

CommandRunner::CommandRunner(CommandOptions options) : options_(std::move(options)) {}

CommandRunner::~CommandRunner() {
  stop();
  if (stack_) munmap(stack_, stack_size_);
  if (epoll_ >= 0) ::close(epoll_);
  if (wake_ >= 0) ::close(wake_);
  if (dev_null_ >= 0) ::close(dev_null_);
  if (lock_fd_ >= 0) {
    ::unlink(mark_path_.c_str());
    ::close(lock_fd_);
  }
}

void CommandRunner::sweep_leftovers() {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(options_.state_directory) / "commands";
  std::error_code ec;
  if (!options_.allowed && !fs::exists(dir, ec)) return;
  fs::create_directories(dir, ec);
  if (ec) {
    throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  }
  // A mark file is locked for as long as its server runs: one that can be locked is a
  // dead server's, and what carries its mark was left running.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".run")) continue;
    Fd fd{::open(entry.path().c_str(), O_RDWR | O_CLOEXEC)};
    if (fd.fd < 0 || ::flock(fd.fd, LOCK_EX | LOCK_NB) != 0) continue;
    kill_marked(name.substr(0, name.size() - 4));
    ::unlink(entry.path().c_str());
  }
  if (!options_.allowed || lock_fd_ >= 0) return;  // (started again: keeps its mark)
  mark_ = random_hex(16);
  mark_path_ = (dir / (mark_ + ".run")).string();
  lock_fd_ = ::open(mark_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    throw std::runtime_error("cannot create " + mark_path_ + ": " + errno_text(errno));
  }
}

void CommandRunner::start() {
  if (thread_.joinable()) return;
  sweep_leftovers();
  if (epoll_ < 0) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    dev_null_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (epoll_ < 0 || wake_ < 0 || dev_null_ < 0) {
      throw std::system_error(errno, std::generic_category(), "command runner");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWake;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    stack_size_ = 256 * 1024;
    stack_ = mmap(nullptr, stack_size_, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack_ == MAP_FAILED) {
      stack_ = nullptr;
      throw std::system_error(errno, std::generic_category(), "command runner stack");
    }
  }
  {
    std::lock_guard lock{mutex_};
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    // A program that exits before reading its input must not end the server.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    loop();
  });
}

void CommandRunner::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  if (wake_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

void CommandRunner::run(std::uint64_t id, CommandRequest request, Finished finished) {
  ++running_;
  {
    std::lock_guard lock{mutex_};
    pending_.push_back({id, std::move(request), std::move(finished)});
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
}

CommandRequest CommandRunner::request_for(const Attempt& attempt) {
  const Task& t = *attempt.task;
  CommandRequest r;
  if (t.command) {
    boost::system::error_code ec;
    auto v = boost::json::parse(*t.command, ec);
    if (!ec && v.is_array()) {
      for (const auto& item : v.as_array()) {
        if (item.is_string()) r.argv.emplace_back(item.as_string());
      }
    }
  }
  if (t.environment) {
    boost::system::error_code ec;
    auto v = boost::json::parse(*t.environment, ec);
    if (!ec && v.is_object()) {
      for (const auto& [k, value] : v.as_object()) {
        if (value.is_string()) r.environment.emplace_back(k, value.as_string());
      }
    }
  }
  r.working_directory = t.working_directory.value_or("");
  r.input = t.command_input.value_or("");
  r.task_id = t.id;
  r.task_name = t.name;
  r.execution_id = attempt.execution_id;
  r.scheduled_for = attempt.scheduled_for;
  r.attempt = attempt.number;
  return r;
}

void CommandRunner::submit(std::vector<Job> jobs) {
  running_ += jobs.size();
  {
    std::lock_guard lock{mutex_};
    for (auto& [attempt, done] : jobs) {
      pending_.push_back(
          {attempt.id, request_for(attempt), [done = std::move(done)](CommandResult r) {
             done({r.ok, r.retryable, false, std::move(r.summary), std::move(r.output)});
           }});
    }
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);  // once for the whole batch
}

void CommandRunner::cancel(std::uint64_t id) {
  {
    std::lock_guard lock{mutex_};
    cancelled_.push_back(id);
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
}

void CommandRunner::take_pending() {
  std::vector<Pending> pending;
  std::vector<std::uint64_t> cancelled;
  {
    std::lock_guard lock{mutex_};
    pending.swap(pending_);
    cancelled.swap(cancelled_);
  }
  for (auto& p : pending) {
    if (std::find(cancelled.begin(), cancelled.end(), p.id) != cancelled.end()) {
      --running_;
      continue;
    }
    spawn(std::move(p));
  }
  const auto now = Steady::now();
  for (auto id : cancelled) {
    auto it = children_.find(id);
    if (it == children_.end()) continue;
    it->second->cancelled = true;
    terminate(*it->second, now);
  }
}

void CommandRunner::spawn(Pending p) {
  CommandResult failed;
  failed.retryable = false;
  auto fail = [&](std::string why) {
    failed.summary = std::move(why);
    --running_;
    p.finished(std::move(failed));
  };
  if (!options_.allowed) {
    return fail(
        "command tasks are off on this server: start it with --allow-commands "
        "(CRONKIT_ALLOW_COMMANDS=1) to run them");
  }
  CommandRequest& r = p.request;
  if (r.argv.empty() || r.argv.front().empty()) return fail("the command is empty");

  const std::string cwd =
      r.working_directory.empty() ? options_.state_directory : r.working_directory;
  // The environment: the base, the user's home, the task's, then who runs it.
  Environment env = options_.base_environment;
  if (options_.user) env.emplace_back("HOME", options_.user->home);
  for (auto& kv : r.environment)
    env.push_back(std::move(kv));
  env.emplace_back("CRONKIT_TASK_ID", r.task_id);
  env.emplace_back("CRONKIT_TASK_NAME", r.task_name);
  env.emplace_back("CRONKIT_EXECUTION_ID", r.execution_id);
  env.emplace_back("CRONKIT_SCHEDULED_FOR", rfc3339(r.scheduled_for));
  env.emplace_back("CRONKIT_ATTEMPT", std::to_string(r.attempt));
  env.emplace_back(std::string(kMarkVariable), mark_);
  // Later entries win; each name once.
  std::map<std::string, std::string> merged;
  for (auto& [k, v] : env)
    merged[k] = std::move(v);

  const std::string& program = r.argv.front();
  std::optional<std::string> path = resolve(program, merged["PATH"], cwd);
  if (!path)
    return fail("program not found: " + program + " is not in PATH (" + merged["PATH"] + ")");

  std::vector<std::string> env_strings;
  env_strings.reserve(merged.size());
  for (const auto& [k, v] : merged)
    env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (auto& a : r.argv)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail("cannot start: " + errno_text(errno));
  Fd out_read{out_pipe[0]};
  Fd out_write{out_pipe[1]};
  Fd in_read;
  Fd in_write;
  if (!r.input.empty()) {
    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) return fail("cannot start: " + errno_text(errno));
    in_read = Fd{in_pipe[0]};
    in_write = Fd{in_pipe[1]};
  }

  SpawnPlan plan;
  plan.path = path->c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = cwd.c_str();
  plan.in_fd = in_read.fd >= 0 ? in_read.fd : dev_null_;
  plan.out_fd = out_write.fd;
  if (options_.user) {
    plan.uid = options_.user->uid;
    plan.gid = options_.user->gid;
    plan.groups = options_.user->groups.data();
    plan.group_count = options_.user->groups.size();
  }
  plan.files = {options_.child_file_limit, RLIM_INFINITY};
  if (options_.child_file_limit != 0) {
    rlimit now{};
    getrlimit(RLIMIT_NOFILE, &now);
    plan.files.rlim_max = now.rlim_max;
  }
  plan.parent = getpid();

  // No signal handler may run in the child before it resets them: block all around clone.
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  const pid_t pid = libc_clone()(child_main, static_cast<char*>(stack_) + stack_size_,
                                 CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &plan, &pidfd);
  const int clone_error = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  out_write.reset();
  in_read.reset();
  if (pid < 0) return fail("cannot start: " + errno_text(clone_error));
  Fd owned_pidfd{pidfd};
  if (plan.error != 0) {
    siginfo_t info{};
    waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED);
    const std::string step = plan.step ? plan.step : "exec";
    if (step == "chdir") return fail("working directory " + cwd + ": " + errno_text(plan.error));
    if (step == "exec") return fail("cannot run " + *path + ": " + errno_text(plan.error));
    return fail("cannot start (" + step + "): " + errno_text(plan.error));
  }

  auto child = std::make_unique<Child>();
  child->id = p.id;
  child->pid = pid;
  child->pidfd = std::move(owned_pidfd);
  child->out = std::move(out_read);
  child->in = std::move(in_write);
  child->input = std::move(r.input);
  child->finished = std::move(p.finished);
  fcntl(child->out.fd, F_SETFL, O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag(p.id, kExit);
  epoll_ctl(epoll_, EPOLL_CTL_ADD, child->pidfd.fd, &ev);
  ev.data.u64 = tag(p.id, kOutput);
  epoll_ctl(epoll_, EPOLL_CTL_ADD, child->out.fd, &ev);
  if (child->in.fd >= 0) {
    fcntl(child->in.fd, F_SETFL, O_NONBLOCK);
    ev.events = EPOLLOUT;
    ev.data.u64 = tag(p.id, kInput);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, child->in.fd, &ev);
  }
  children_[p.id] = std::move(child);
}

void CommandRunner::terminate(Child& c, Steady::time_point now) {
  if (c.terminating) return;
  c.terminating = true;
  if (options_.kill_grace.count() <= 0) {
    ::kill(-c.pid, SIGKILL);
    c.killed = true;
    return;
  }
  ::kill(-c.pid, SIGTERM);
  c.kill_at = now + options_.kill_grace;
}

void CommandRunner::on_input(Child& c) {
  while (c.input_written < c.input.size()) {
    const ssize_t n =
        ::write(c.in.fd, c.input.data() + c.input_written, c.input.size() - c.input_written);
    if (n > 0) {
      c.input_written += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // when the program has read some
    break;                                 // EPIPE: it does not read it
  }
  epoll_ctl(epoll_, EPOLL_CTL_DEL, c.in.fd, nullptr);
  c.in.reset();  // all written: the program sees its end
  std::string{}.swap(c.input);
}

void CommandRunner::on_output(Child& c) {
  std::array<char, 65536> buf;
  // At most 16 reads at a time, so that a program that floods does not starve the rest.
  for (int i = 0; i < 16; ++i) {
    const ssize_t n = ::read(c.out.fd, buf.data(), buf.size());
    if (n > 0) {
      c.output.append({buf.data(), static_cast<std::size_t>(n)});
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // The end: every writer (the program and whatever it started) closed it.
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c.out.fd, nullptr);
    c.out.reset();
    return;
  }
}

void CommandRunner::on_exit(Child& c) {
  siginfo_t info{};
  if (waitid(P_PIDFD, static_cast<id_t>(c.pidfd.fd), &info, WEXITED | WNOHANG) != 0 ||
      info.si_pid == 0) {
    return;
  }
  // What it wrote before it exited is in the pipe; descendants may hold it open, so read
  // what is there and no more (bounded, as they may still be writing).
  if (c.out.fd >= 0) {
    for (int i = 0; i < 64 && c.out.fd >= 0; ++i) {
      std::array<char, 65536> buf;
      const ssize_t n = ::read(c.out.fd, buf.data(), buf.size());
      if (n > 0) {
        c.output.append({buf.data(), static_cast<std::size_t>(n)});
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
  }
  // Whatever it left in its process group is ended too, after the same grace.
  const auto now = Steady::now();
  if (::kill(-c.pid, 0) == 0) {
    if (!c.terminating) {
      ::kill(-c.pid, SIGTERM);
      lingering_.emplace_back(c.pid, now + options_.kill_grace);
    } else if (!c.killed) {
      lingering_.emplace_back(c.pid, c.kill_at);
    }
  }
  const std::uint64_t id = c.id;
  if (!c.cancelled) {
    CommandResult r;
    if (info.si_code == CLD_EXITED) {
      r.exit_code = info.si_status;
      r.ok = info.si_status == 0;
      r.summary = "exit " + std::to_string(info.si_status);
    } else {
      r.signal = info.si_status;
      r.summary = "killed by " + signal_name(info.si_status);
    }
    r.output = c.output.text();
    Finished finished = std::move(c.finished);
    close_child(id);
    --running_;
    finished(std::move(r));
    return;
  }
  close_child(id);
  --running_;
}

void CommandRunner::close_child(std::uint64_t id) {
  auto it = children_.find(id);
  if (it == children_.end()) return;
  Child& c = *it->second;
  for (int fd : {c.pidfd.fd, c.out.fd, c.in.fd}) {
    if (fd >= 0) epoll_ctl(epoll_, EPOLL_CTL_DEL, fd, nullptr);
  }
  children_.erase(it);
}

void CommandRunner::reap_lingering(Steady::time_point now) {
  std::erase_if(lingering_, [&](const auto& g) {
    if (::kill(-g.first, 0) != 0) return true;  // the group is gone
    if (now < g.second) return false;
    ::kill(-g.first, SIGKILL);
    return true;
  });
  for (auto& [id, c] : children_) {
    if (c->terminating && !c->killed && now >= c->kill_at) {
      ::kill(-c->pid, SIGKILL);
      c->killed = true;
    }
  }
}

void CommandRunner::loop() {
  std::array<epoll_event, 256> events;
  while (true) {
    take_pending();
    bool stopping = false;
    {
      std::lock_guard lock{mutex_};
      stopping = stopping_;
    }
    auto now = Steady::now();
    if (stopping) {
      for (auto& [id, c] : children_) {
        c->cancelled = true;
        terminate(*c, now);
      }
    }
    reap_lingering(now);
    if (stopping && children_.empty() && lingering_.empty()) break;
    // Sleep until something happens or the next SIGKILL is due.
    int timeout = -1;
    auto next = Steady::time_point::max();
    for (const auto& g : lingering_)
      next = std::min(next, g.second);
    for (const auto& [id, c] : children_) {
      if (c->terminating && !c->killed) next = std::min(next, c->kill_at);
    }
    if (!lingering_.empty()) next = std::min(next, now + std::chrono::milliseconds{100});
    if (next != Steady::time_point::max()) {
      timeout = static_cast<int>(std::clamp<std::int64_t>(
          std::chrono::ceil<std::chrono::milliseconds>(next - now).count(), 0, 60000));
    }
    const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t t = events[static_cast<std::size_t>(i)].data.u64;
      if (t == kWake) {
        std::uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_, &count, sizeof count);
        continue;
      }
      auto it = children_.find(t >> 2);
      if (it == children_.end()) continue;  // ended by an earlier event of this round
      Child& c = *it->second;
      switch (static_cast<Kind>(t & 3)) {
        case kInput:
          if (c.in.fd >= 0) on_input(c);
          break;
        case kOutput:
          if (c.out.fd >= 0) on_output(c);
          break;
        case kExit:
          on_exit(c);
          break;
      }
    }
  }
}

}  // namespace cronkit::engine
