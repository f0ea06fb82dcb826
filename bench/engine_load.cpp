// Load measurements of the engine on a real SQLite file (results in docs/performance.md).
// throughput, lag and burst take --start-before-stored as a third argument: attempts start
// without waiting for their `running` commit (EngineOptions::start_before_stored).
//   engine_load throughput N     N no-op tasks due at one instant, every state written:
//                                executions/s, and per execution the context switches, CPU
//                                time and (where counted) instructions
//   engine_load notify N         as throughput, but every 10th task fails and has a failure
//                                rule to a webhook on loopback: the same figures, and the
//                                notification lag (execution's end to the receiver)
//   engine_load manual N         N manual runs one after another, each answered once stored
//   engine_load lag SECONDS      one every-second task: lag from instant to handler start
//   engine_load burst TASKS      TASKS every-second tasks: how soon the last one starts
//   engine_load http COUNT       COUNT http tasks at once against a 1 s endpoint: time, threads
//   engine_load memory TASKS     TASKS enabled tasks: engine heap per task, load time
//   engine_load command-lag SECONDS
//                                one every-second command task whose program reads the
//                                clock first thing: instant to the program's first act
//   engine_load commands RATE SECONDS
//                                RATE command tasks running /bin/true every second, every
//                                state stored: executions/s, lag, threads, cost per execution
//   engine_load cluster URL NODES TASKS SECONDS [WRITERS]
//                                NODES engines (each with its own connections, as separate
//                                servers would be) on the PostgreSQL database at URL (or
//                                one on a sqlite: URL), TASKS no-op tasks firing every
//                                second, for SECONDS: executions run per second, how they
//                                spread, lag, firings skipped as too late, peak memory;
//                                WRITERS: connections each writes executions on (default 4).
//                                Offered more than it can run, it shows the overload curve.
//   engine_load cluster-http URL NODES TASKS SECONDS CONCURRENCY DELAY_MS
//                                TASKS every-second http tasks against an endpoint answering
//                                after DELAY_MS, on NODES engines of CONCURRENCY slots each:
//                                requests a second, and how the servers share them
#include <dirent.h>
#include <linux/perf_event.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../tests/support/test_http_server.h"
#include "core/clock.h"
#include "core/ids.h"
#include "engine/engine.h"
#include "notify/outbox.h"
#include "store/open_store.h"
#include "store/postgres/pg.h"
#include "store/postgres/postgres_store.h"

namespace {

using namespace cronkit;
using Clock = std::chrono::steady_clock;
namespace pg = store::pg;
namespace fs = std::filesystem;

struct TempDb {
  fs::path dir =
      fs::temp_directory_path() / ("cronkit-bench-" + std::to_string(std::random_device{}()));
  std::string url() const { return "sqlite:" + (dir / "cronkit.db").string(); }
  ~TempDb() { fs::remove_all(dir); }
};

Task make_task(const std::string& cron, Millis now, const std::string& fn = "noop") {
  Task t;
  t.id = new_id(now);
  t.name = "bench";
  t.cron_expression = cron;
  t.function_name = fn;
  t.created_at = t.updated_at = now;
  return t;
}

int thread_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// What the process spent between two points: CPU time, context switches and, where the
// machine has a hardware counter, instructions (this process's threads, user and kernel).
class Cost {
 public:
  Cost() {
    perf_event_attr attr{};
    attr.type = PERF_TYPE_HARDWARE;
    attr.size = sizeof attr;
    attr.config = PERF_COUNT_HW_INSTRUCTIONS;
    attr.inherit = 1;  // threads started later count too
    attr.exclude_hv = 1;
    fd_ = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
    getrusage(RUSAGE_SELF, &start_);
    start_instructions_ = instructions();
    // Under `valgrind --tool=callgrind`, count from here: see docs/performance.md.
    CALLGRIND_ZERO_STATS;
  }
  ~Cost() {
    if (fd_ >= 0) close(fd_);
  }
  Cost(const Cost&) = delete;
  Cost& operator=(const Cost&) = delete;

  /// "per execution: 0.31 voluntary context switches, 0.02 involuntary, 14.1 us user, 9.8 us
  /// system, 41,000 instructions"
  std::string per(long n) const {
    CALLGRIND_DUMP_STATS_AT("measured");
    rusage now{};
    getrusage(RUSAGE_SELF, &now);
    auto us = [](const timeval& a, const timeval& b) {
      return static_cast<double>(a.tv_sec - b.tv_sec) * 1e6 +
             static_cast<double>(a.tv_usec - b.tv_usec);
    };
    const double k = 1.0 / static_cast<double>(n);
    char text[256];
    std::snprintf(text, sizeof text,
                  "%.2f voluntary context switches, %.2f involuntary, %.1f us user, %.1f us system",
                  static_cast<double>(now.ru_nvcsw - start_.ru_nvcsw) * k,
                  static_cast<double>(now.ru_nivcsw - start_.ru_nivcsw) * k,
                  us(now.ru_utime, start_.ru_utime) * k, us(now.ru_stime, start_.ru_stime) * k);
    std::string out = text;
    if (fd_ >= 0) {
      std::snprintf(text, sizeof text, ", %.0f instructions",
                    static_cast<double>(instructions() - start_instructions_) * k);
      out += text;
    } else {
      out += ", instructions not counted (no hardware counter here: see docs/performance.md)";
    }
    return out;
  }

 private:
  long long instructions() const {
    long long v = 0;
    if (fd_ < 0 || read(fd_, &v, sizeof v) != sizeof v) return 0;
    return v;
  }
  int fd_ = -1;
  rusage start_{};
  long long start_instructions_ = 0;
};

// A cron pattern that fires at the next instant at least `lead` away, then not for a minute.
std::string fires_in(const SystemClock& clock, Millis lead, Millis* at) {
  *at = (clock.now() + lead) / 1000 * 1000 + 1000;
  return std::to_string(*at / 1000 % 60) + " * * * * *";
}

// Set by --start-before-stored.
bool start_before_stored = false;

// Saturation: n no-op tasks due at one instant, every state of every execution stored. From
// the claims (queue_ahead_ms before the instant) until everything is written.
int throughput(long n) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  std::atomic<long> ran{0};
  registry.add("noop", [&](const TaskContext&) {
    ++ran;
    return TaskResult{true, ""};
  });
  Millis at = 0;
  const std::string pattern = fires_in(clock, 3000 + n / 5, &at);
  for (long i = 0; i < n; ++i)
    store->insert_task(make_task(pattern, clock.now()));
  engine::Engine e{*store,
                   clock,
                   registry,
                   {.max_concurrency = 64,
                    .start_before_stored = start_before_stored,
                    .max_function_threads = 2}};
  e.start();
  // Loading took longer than guessed: the pattern fires again a minute later.
  while (clock.now() > at - engine::EngineOptions{}.queue_ahead_ms - 100)
    at += 60000;
  const Millis claim_from = at - engine::EngineOptions{}.queue_ahead_ms;
  std::this_thread::sleep_for(std::chrono::milliseconds{claim_from - 100 - clock.now()});
  Cost cost;
  while (ran < n)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  e.stop();  // returns once every state is written
  const double secs = static_cast<double>(clock.now() - claim_from) / 1000.0;
  auto done =
      store->list_executions({.page = 1, .page_size = 1, .status = ExecutionStatus::success});
  if (done.total != n)
    std::printf("only %lld executions stored as successful\n", static_cast<long long>(done.total));
  std::printf(
      "throughput: %ld no-op tasks due at one instant, queued/running/success all stored, in "
      "%.2f s from the claims: %.0f/s; per execution: %s\n",
      n, secs, static_cast<double>(n) / secs, cost.per(n).c_str());
  return 0;
}

// throughput() with notifications: every 10th task fails and tells a webhook (in this
// process, on loopback) through the outbox, as a server does. Measured until every state and
// every notification is through; the lag is from an execution's finishedAt to the request's
// arrival.
int notify_load(long n) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  std::atomic<long> ran{0};
  registry.add("noop", [&](const TaskContext&) {
    ++ran;
    return TaskResult{true, ""};
  });
  registry.add("fail", [&](const TaskContext&) {
    ++ran;
    return TaskResult{false, "failed on purpose"};
  });
  testing::TestHttpServer receiver;
  Channel hook{.id = new_id(clock.now()),
               .name = "bench",
               .url = receiver.url("/status/200"),
               .created_at = clock.now(),
               .updated_at = clock.now()};
  store->insert_channel(hook);
  Millis at = 0;
  const std::string pattern = fires_in(clock, 3000 + n / 5, &at);
  long failing = 0;
  for (long i = 0; i < n; ++i) {
    Task t = make_task(pattern, clock.now(), i % 10 == 9 ? "fail" : "noop");
    if (i % 10 == 9) {
      t.notifications = {{.channel_id = hook.id, .on = {NotifyEvent::failure}}};
      ++failing;
    }
    store->insert_task(t);
  }
  notify::Sender sender;
  notify::Outbox outbox{*store, sender, clock, {.owner = "bench"}};
  store->on_deliveries_queued([&outbox] { outbox.wake(); });
  outbox.start();
  engine::Engine e{*store, clock, registry, {.max_concurrency = 64, .max_function_threads = 2}};
  e.start();
  while (clock.now() > at - engine::EngineOptions{}.queue_ahead_ms - 100)
    at += 60000;
  const Millis claim_from = at - engine::EngineOptions{}.queue_ahead_ms;
  std::this_thread::sleep_for(std::chrono::milliseconds{claim_from - 100 - clock.now()});
  Cost cost;
  while (ran < n)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  e.stop();  // returns once every state is written
  const double secs = static_cast<double>(clock.now() - claim_from) / 1000.0;
  while (static_cast<long>(receiver.request_count()) < failing)
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  const std::string per = cost.per(n);
  store->on_deliveries_queued({});
  outbox.stop();
  std::vector<double> lags;
  for (const auto& r : receiver.requests()) {
    const auto key = std::string("\"finishedAt\":");
    const auto p = r.body.find(key);
    if (p == std::string::npos) continue;
    lags.push_back(
        static_cast<double>(r.received_at_ms - std::atoll(r.body.c_str() + p + key.size())));
  }
  std::ranges::sort(lags);
  auto pct = [&](double q) {
    return lags.empty() ? 0.0
                        : lags[static_cast<std::size_t>(q * static_cast<double>(lags.size() - 1))];
  };
  std::printf(
      "notify: %ld no-op tasks due at one instant, %ld of them failing and notifying, every state "
      "stored, in %.2f s from the claims: %.0f/s; per execution: %s\n"
      "notification lag (execution's end to the receiver), %zu notifications: p50 %.0f ms, p99 "
      "%.0f ms, max %.0f ms\n",
      n, failing, secs, static_cast<double>(n) / secs, per.c_str(), lags.size(), pct(0.5),
      pct(0.99), lags.empty() ? 0.0 : lags.back());
  return 0;
}

// Manual runs one after another: each trigger() returns once its execution is stored, so
// this measures a round trip through the recorder per run.
int manual(long n) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  std::atomic<long> ran{0};
  registry.add("noop", [&](const TaskContext&) {
    ++ran;
    return TaskResult{true, ""};
  });
  Task t = make_task("0 0 0 1 1 *", clock.now());
  store->insert_task(t);
  engine::Engine e{*store, clock, registry, {.max_concurrency = 64, .max_function_threads = 2}};
  e.start();
  Cost cost;
  auto begin = Clock::now();
  for (long i = 0; i < n; ++i)
    e.trigger(t);
  while (ran < n)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  e.stop();  // returns once every state is written
  double secs = std::chrono::duration<double>(Clock::now() - begin).count();
  std::printf(
      "manual: %ld manual no-op runs one after another, each answered once stored, all states "
      "stored, in %.2f s: %.0f/s; per execution: %s\n",
      n, secs, static_cast<double>(n) / secs, cost.per(n).c_str());
  return 0;
}

int lag(int seconds) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  std::mutex m;
  std::vector<double> lags;
  Task t = make_task("* * * * * *", clock.now(), "measure");
  registry.add("measure", [&](const TaskContext& ctx) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::system_clock::now() -
                                                          ctx.scheduled_for)
                    .count();
    std::lock_guard lock{m};
    lags.push_back(ms);
    return TaskResult{true, ""};
  });
  store->insert_task(t);
  engine::Engine e{*store, clock, registry, {.start_before_stored = start_before_stored}};
  e.start();
  std::this_thread::sleep_for(std::chrono::seconds{seconds});
  e.stop();
  std::lock_guard lock{m};
  std::printf(
      "lag: %zu firings of an every-second task; instant to handler start: median %.3f ms, p99 "
      "%.3f ms, max %.3f ms\n",
      lags.size(), percentile(lags, 0.5), percentile(lags, 0.99), percentile(lags, 1.0));
  return 0;
}

int burst(int tasks) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  std::mutex m;
  std::vector<double> starts;  // ms after the instant
  std::atomic<bool> measuring{false};
  registry.add("noop", [&](const TaskContext& ctx) {
    if (measuring) {
      double ms = std::chrono::duration<double, std::milli>(std::chrono::system_clock::now() -
                                                            ctx.scheduled_for)
                      .count();
      std::lock_guard lock{m};
      starts.push_back(ms);
    }
    return TaskResult{true, ""};
  });
  // All fire at second 0 of each minute; load them, then measure the next minute.
  for (int i = 0; i < tasks; ++i)
    store->insert_task(make_task("0 * * * * *", clock.now()));
  engine::Engine e{*store,
                   clock,
                   registry,
                   {.max_concurrency = tasks, .start_before_stored = start_before_stored}};
  auto load_begin = Clock::now();
  e.start();
  double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - load_begin).count();
  measuring = true;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    std::lock_guard lock{m};
    if (starts.size() >= static_cast<std::size_t>(tasks)) break;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds{500});
  e.stop();
  std::lock_guard lock{m};
  std::vector<double> first(starts.begin(), starts.begin() + tasks);
  std::printf(
      "burst: %d tasks due in the same second (loaded in %.0f ms); handler started after the "
      "instant: median %.1f ms, last %.1f ms\n",
      tasks, load_ms, percentile(first, 0.5), percentile(first, 1.0));
  return 0;
}

int jitter(int tasks) {
  // Every task fires at second 0 of each minute with 60 s of jitter: how its starts spread
  // over the minute, and how late each starts after its own jittered start.
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  std::mutex m;
  std::vector<double> after_instant;  // s after the instant
  std::vector<double> late;           // ms after the start the delay sets
  std::atomic<bool> measuring{false};
  registry.add("noop", [&](const TaskContext& ctx) {
    if (!measuring) return TaskResult{true, ""};
    const auto now = std::chrono::system_clock::now();
    const Millis instant =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx.scheduled_for.time_since_epoch())
            .count();
    const Millis delay = engine::jitter_delay(ctx.task_id, instant, 60000);
    const double ms = std::chrono::duration<double, std::milli>(now - ctx.scheduled_for).count();
    std::lock_guard lock{m};
    after_instant.push_back(ms / 1000);
    late.push_back(ms - static_cast<double>(delay));
    return TaskResult{true, ""};
  });
  for (int i = 0; i < tasks; ++i) {
    Task t = make_task("0 * * * * *", clock.now());
    t.jitter_seconds = 60;
    store->insert_task(t);
  }
  engine::Engine e{*store, clock, registry, {.max_concurrency = tasks}};
  e.start();
  measuring = true;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    std::lock_guard lock{m};
    if (after_instant.size() >= static_cast<std::size_t>(tasks)) break;
  }
  e.stop();
  std::lock_guard lock{m};
  std::vector<double> first(after_instant.begin(), after_instant.begin() + tasks);
  std::vector<double> first_late(late.begin(), late.begin() + tasks);
  std::array<int, 6> buckets{};  // 10 s each
  std::array<int, 60> seconds{};
  for (double s : first) {
    buckets[std::clamp(static_cast<int>(s / 10), 0, 5)]++;
    seconds[std::clamp(static_cast<int>(s), 0, 59)]++;
  }
  std::string histogram;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    histogram += (i ? ", " : "") + std::to_string(i * 10) + "-" + std::to_string(i * 10 + 10) +
                 " s: " + std::to_string(buckets[i]);
  }
  const auto [fewest, most] = std::ranges::minmax(seconds);
  std::printf(
      "jitter: %d every-minute tasks, jitterSeconds 60: starts after the instant by 10 s: %s; "
      "per second: fewest %d, most %d (even: %.0f); after its jittered start: median %.1f ms, "
      "p99 %.1f ms, last %.1f ms\n",
      tasks, histogram.c_str(), fewest, most, tasks / 60.0, percentile(first_late, 0.5),
      percentile(first_late, 0.99), percentile(first_late, 1.0));
  return 0;
}

int http(int count) {
  // The endpoint lives in a child process, so that its threads are not counted as ours.
  int to_parent[2], to_child[2];
  if (pipe(to_parent) != 0 || pipe(to_child) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(to_child[1]);  // so that the parent closing its end reads as end of file here
    close(to_parent[0]);
    cronkit::testing::TestHttpServer server;
    int port = server.port();
    if (write(to_parent[1], &port, sizeof port) != sizeof port) _exit(1);
    char c;
    while (read(to_child[0], &c, 1) > 0) {
    }
    _exit(0);
  }
  close(to_child[0]);
  close(to_parent[1]);
  int port = 0;
  if (read(to_parent[0], &port, sizeof port) != sizeof port) return 1;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/slow/1000";

  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  std::vector<Task> tasks;
  for (int i = 0; i < count; ++i) {
    Task t = make_task("0 0 0 1 1 *", clock.now(), "");
    t.type = TaskType::http;
    t.function_name.reset();
    t.http_url = url;
    store->insert_task(t);
    tasks.push_back(t);
  }
  engine::Engine e{*store, clock, registry, {.max_concurrency = count}};
  e.start();
  int peak_threads = thread_count();
  auto begin = Clock::now();
  for (const auto& t : tasks)
    e.trigger(t);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
    peak_threads = std::max(peak_threads, thread_count());
    auto s =
        store->list_executions({.page = 1, .page_size = 1, .status = ExecutionStatus::success});
    if (s.total >= count) break;
    if (Clock::now() - begin > std::chrono::seconds{60}) break;
  }
  double secs = std::chrono::duration<double>(Clock::now() - begin).count();
  e.stop();
  close(to_child[1]);
  waitpid(child, nullptr, 0);
  std::printf(
      "http: %d requests to an endpoint answering after 1 s, max concurrency %d: all done "
      "in %.2f s, at most %d threads in the process\n",
      count, count, secs, peak_threads);
  return 0;
}

engine::CommandOptions command_options(const fs::path& dir) {
  return {.allowed = true, .state_directory = dir.string()};
}

// A lone every-second command task; its program prints the time it started (bench/stamp.cpp),
// which the execution keeps as its output.
int command_lag(int seconds) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  Task t = make_task("* * * * * *", clock.now(), "");
  t.type = TaskType::command;
  t.function_name.reset();
  t.command = std::string("[\"") + CRONKIT_STAMP + "\"]";
  store->insert_task(t);
  engine::Engine e{*store, clock, registry, {.commands = command_options(db.dir)}};
  e.start();
  std::this_thread::sleep_for(std::chrono::seconds{seconds});
  e.stop();
  std::vector<double> lags;
  for (const auto& x :
       store->list_executions({.page = 1, .page_size = 1000, .task_id = t.id}).list) {
    if (x.status != ExecutionStatus::success || !x.output) continue;
    const double started_ns = std::strtod(x.output->c_str(), nullptr);
    lags.push_back((started_ns - static_cast<double>(x.scheduled_for) * 1e6) / 1e6);
  }
  if (lags.empty()) return 1;
  std::printf(
      "command-lag: %zu firings of an every-second command task; instant to the program's "
      "first act: median %.3f ms, p99 %.3f ms, max %.3f ms\n",
      lags.size(), percentile(lags, 0.5), percentile(lags, 0.99), percentile(lags, 1.0));
  return 0;
}

// `rate` tasks a second, each running /bin/true (rate tasks firing every second), for
// `seconds`: how many ran and were stored, their lag, and what it cost.
int commands(int rate, int seconds) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  for (int i = 0; i < rate; ++i) {
    Task t = make_task("* * * * * *", clock.now(), "");
    t.type = TaskType::command;
    t.function_name.reset();
    t.command = R"(["/bin/true"])";
    store->insert_task(t);
  }
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  const rlim_t before = files.rlim_cur;
  files.rlim_cur = files.rlim_max;  // as serve does
  setrlimit(RLIMIT_NOFILE, &files);
  auto options = command_options(db.dir);
  options.child_file_limit = before;
  engine::Engine e{*store, clock, registry, {.max_concurrency = rate * 2, .commands = options}};
  e.start();
  // Measured over whole seconds after the first, so that start-up is left out.
  std::this_thread::sleep_for(std::chrono::milliseconds{1500});
  const Millis from = clock.now() / 1000 * 1000;
  int peak_threads = thread_count();
  std::optional<Cost> cost;
  cost.emplace();
  for (int s = 0; s < seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds{1});
    peak_threads = std::max(peak_threads, thread_count());
  }
  const Millis to = from + seconds * Millis{1000};
  std::this_thread::sleep_for(std::chrono::seconds{2});  // the last second's runs end
  std::string per;
  std::vector<double> lags;
  long failed = 0;
  long unfinished = 0;  // still queued or running: the runner fell behind
  for (int page = 1;; ++page) {
    auto p = store->list_executions({.page = page, .page_size = 1000});
    for (const auto& x : p.list) {
      if (x.scheduled_for < from || x.scheduled_for >= to) continue;
      if (x.status != ExecutionStatus::success) {
        ++(is_terminal(x.status) ? failed : unfinished);
        continue;
      }
      lags.push_back(static_cast<double>(*x.started_at - x.scheduled_for));
    }
    if (p.list.size() < 1000) break;
  }
  per = cost->per(static_cast<long>(lags.size()));
  e.stop();
  std::printf(
      "commands: %d tasks running /bin/true every second for %d s: %zu succeeded (%.0f/s), %ld "
      "failed, %ld unfinished; lag (instant to start, stored) median %.0f ms, p99 %.0f ms, max "
      "%.0f ms; at most %d "
      "threads; per execution: %s\n",
      rate, seconds, lags.size(), static_cast<double>(lags.size()) / seconds, failed, unfinished,
      percentile(lags, 0.5), percentile(lags, 0.99), percentile(lags, 1.0), peak_threads,
      per.c_str());
  return 0;
}

int memory(long n) {
  TempDb db;
  auto store = *store::open_store(db.url());
  SystemClock clock;
  Registry registry;
  const char* patterns[] = {"*/5 * * * *", "0 30 9 * * MON-FRI", "0 0 * * *", "*/15 * * * * *"};
  for (long i = 0; i < n; ++i) {
    Task t = make_task(patterns[i % 4], clock.now());
    if (i % 3 == 0) t.timezone = "America/New_York";
    store->insert_task(t);
  }
  malloc_trim(0);
  // In-use heap: small chunks plus the large blocks malloc maps directly.
  auto heap = [] {
    auto m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  const auto before = heap();
  engine::Engine e{*store, clock, registry, {}};
  auto begin = Clock::now();
  e.start();
  double secs = std::chrono::duration<double>(Clock::now() - begin).count();
  malloc_trim(0);
  const auto after = heap();
  std::printf(
      "memory: %ld enabled tasks loaded and scheduled in %.2f s; engine heap %.0f bytes per task\n",
      n, secs, static_cast<double>(after - before) / static_cast<double>(n));
  e.stop();
  return 0;
}

}  // namespace

int cluster(const std::string& url, int nodes, int tasks, int seconds, int writers) {
  SystemClock clock;
  Registry registry;
  std::mutex m;
  std::vector<double> lags;  // ms from instant to handler start, inside the measured window
  std::atomic<Millis> window_start{0}, window_end{0};
  // Every handler that starts within the window counts, whatever instant it is for: the
  // rate achieved, and (overloaded) how late it runs.
  registry.add("noop", [&](const TaskContext& ctx) {
    const auto now = std::chrono::system_clock::now();
    const Millis at =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    if (at >= window_start && at < window_end) {
      const double ms = std::chrono::duration<double, std::milli>(now - ctx.scheduled_for).count();
      std::lock_guard lock{m};
      lags.push_back(ms);
    }
    return TaskResult{true, ""};
  });
  const bool sqlite = url.starts_with("sqlite:");
  if (sqlite && nodes != 1) {
    std::fprintf(stderr, "cluster: SQLite has one server\n");
    return 2;
  }
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < nodes; ++i) {
    if (sqlite) {
      stores.push_back(std::move(*store::open_store(url)));
    } else {
      stores.push_back(std::make_unique<store::PostgresStore>(url, writers));
    }
  }
  for (int i = 0; i < tasks; ++i)
    stores[0]->insert_task(make_task("* * * * * *", clock.now()));
  std::vector<std::unique_ptr<engine::Engine>> engines;
  for (int i = 0; i < nodes; ++i) {
    engines.push_back(std::make_unique<engine::Engine>(
        *stores[static_cast<std::size_t>(i)], clock, registry,
        engine::EngineOptions{.max_concurrency = 10000,
                              .node_id = "node-" + std::to_string(i + 1),
                              .max_function_threads = 4}));
  }
  for (auto& e : engines)
    e->start();
  // Measure whole seconds, after a few to settle.
  const Millis settle = 5000;
  const Millis from = (clock.now() + settle) / 1000 * 1000 + 1000;
  window_start = from;
  window_end = from + seconds * Millis{1000};
  std::this_thread::sleep_for(std::chrono::milliseconds{window_end - clock.now() + 3000});
  for (auto& e : engines)
    e->stop();
  std::int64_t missed = 0;
  for (auto& e : engines)
    missed += e->counters().missed;
  // What ran for the window's instants, and (PostgreSQL) what was stored for them.
  std::lock_guard lock{m};
  const long expected = static_cast<long>(tasks) * seconds;
  const long ran = static_cast<long>(lags.size());
  std::string stored;
  if (!sqlite) {
    pg::Connection c{url};
    auto r = c.query(
        "SELECT node_id, count(*), count(*) FILTER (WHERE status = 'success') "
        "FROM task_execution_logs WHERE scheduled_for >= $1 AND scheduled_for < $2 GROUP BY 1 "
        "ORDER BY 1",
        pg::Params{}.add(window_start.load()).add(window_end.load()));
    long total = 0, succeeded = 0;
    std::string spread;
    for (int i = 0; i < r.rows(); ++i) {
      total += r.int64(i, 1);
      succeeded += r.int64(i, 2);
      spread += (spread.empty() ? "" : ", ") + std::string(r.text(i, 0)) + " " +
                std::to_string(r.int64(i, 1));
    }
    stored = "; stored " + std::to_string(total) + " (" + std::to_string(succeeded) +
             " successful); by node: " + spread;
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "cluster: %d node%s (%d writer connections each), %d every-second no-op tasks (%ld "
      "firings in %d s): %ld started in those seconds = %.0f executions/s%s; skipped as too "
      "late: %lld; "
      "instant to handler start: median %.0f ms, p99 %.0f ms; peak RSS %ld MiB\n",
      nodes, nodes == 1 ? "" : "s", writers, tasks, expected, seconds, ran,
      static_cast<double>(ran) / seconds, stored.c_str(), static_cast<long long>(missed),
      lags.empty() ? 0.0 : percentile(lags, 0.5), lags.empty() ? 0.0 : percentile(lags, 0.99),
      usage.ru_maxrss / 1024);
  return 0;
}

// HTTP tasks against a slow endpoint (in this process): TASKS every-second tasks whose
// request is answered after DELAY_MS, on NODES engines of CONCURRENCY slots each. What one
// engine can carry is CONCURRENCY / DELAY; with the database far from its limit, NODES
// engines carry NODES times that.
int cluster_http(const std::string& url, int nodes, int tasks, int seconds, int concurrency,
                 int delay_ms) {
  cronkit::testing::TestHttpServer target;
  SystemClock clock;
  Registry registry;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < nodes; ++i)
    stores.push_back(std::make_unique<store::PostgresStore>(url, 4));
  for (int i = 0; i < tasks; ++i) {
    Task t = make_task("* * * * * *", clock.now(), "");
    t.type = TaskType::http;
    t.function_name.reset();
    t.http_url = target.url("/slow/" + std::to_string(delay_ms));
    t.timeout_seconds = 60;
    stores[0]->insert_task(t);
  }
  std::vector<std::unique_ptr<engine::Engine>> engines;
  for (int i = 0; i < nodes; ++i) {
    engines.push_back(std::make_unique<engine::Engine>(
        *stores[static_cast<std::size_t>(i)], clock, registry,
        engine::EngineOptions{.max_concurrency = concurrency,
                              .node_id = "node-" + std::to_string(i + 1)}));
  }
  for (auto& e : engines)
    e->start();
  const Millis window_start = (clock.now() + 10000) / 1000 * 1000;  // 10 s to settle
  const Millis window_end = window_start + seconds * Millis{1000};
  std::this_thread::sleep_for(std::chrono::milliseconds{window_end - clock.now()});
  long received = 0;
  for (const auto& r : target.requests())
    received += r.received_at_ms >= window_start && r.received_at_ms < window_end;
  std::int64_t behind = 0;
  for (auto& e : engines)
    behind = std::max(behind, e->counters().behind_ms);
  for (auto& e : engines)
    e->stop();
  pg::Connection c{url};
  auto r = c.query(
      "SELECT node_id, count(*) FROM task_execution_logs WHERE started_at >= $1 AND "
      "started_at < $2 GROUP BY 1 ORDER BY 1",
      pg::Params{}.add(window_start).add(window_end));
  std::string spread;
  for (int i = 0; i < r.rows(); ++i) {
    spread += (spread.empty() ? "" : ", ") + std::string(r.text(i, 0)) + " " +
              std::to_string(r.int64(i, 1));
  }
  std::printf(
      "cluster-http: %d node%s of %d slots, %d every-second http tasks answered after %d ms, "
      "%d s: %ld requests received = %.0f/s (one node's slots allow %.0f/s); started by node: "
      "%s; behind at the end: %.1f s\n",
      nodes, nodes == 1 ? "" : "s", concurrency, tasks, delay_ms, seconds, received,
      static_cast<double>(received) / seconds, concurrency * 1000.0 / delay_ms, spread.c_str(),
      static_cast<double>(behind) / 1000.0);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "commands") {
    return commands(std::atoi(argv[2]), std::atoi(argv[3]));
  }
  if ((argc == 6 || argc == 7) && std::string(argv[1]) == "cluster") {
    return cluster(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]),
                   argc == 7 ? std::atoi(argv[6]) : 4);
  }
  if (argc == 8 && std::string(argv[1]) == "cluster-http") {
    return cluster_http(argv[2], std::atoi(argv[3]), std::atoi(argv[4]), std::atoi(argv[5]),
                        std::atoi(argv[6]), std::atoi(argv[7]));
  }
  if (argc == 4 && std::string(argv[3]) == "--start-before-stored") {
    start_before_stored = true;
    --argc;
  }
  if (argc != 3) {
    std::cerr << "usage: engine_load "
                 "throughput|notify|manual|lag|burst|jitter|http|memory|command-lag N "
                 "[--start-before-stored], "
                 "commands RATE SECONDS, cluster URL NODES TASKS SECONDS [WRITERS], "
                 "cluster-http URL NODES TASKS SECONDS CONCURRENCY DELAY_MS\n";
    return 2;
  }
  std::string what = argv[1];
  long n = std::atol(argv[2]);
  if (what == "throughput") return throughput(n);
  if (what == "manual") return manual(n);
  if (what == "notify") return notify_load(n);
  if (what == "lag") return lag(static_cast<int>(n));
  if (what == "burst") return burst(static_cast<int>(n));
  if (what == "jitter") return jitter(static_cast<int>(n));
  if (what == "http") return http(static_cast<int>(n));
  if (what == "memory") return memory(n);
  if (what == "command-lag") return command_lag(static_cast<int>(n));
  std::cerr << "unknown measurement " << what << "\n";
  return 2;
}
