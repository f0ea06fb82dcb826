// The engine against a real SQLite file, with the wall clock faked.
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "../../support/fake_clock.h"
#include "../../support/test_http_server.h"
#include "core/ids.h"
#include "engine/builtin.h"
#include "engine/task_service.h"
#include "store/open_store.h"

namespace cronkit::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using cronkit::testing::FakeClock;

Millis at(const std::string& iso) {
  auto t = cron::parse_time(iso, *cron::Zone::utc());
  EXPECT_TRUE(t.has_value()) << iso;
  return t->time_since_epoch().count() * 1000;
}

// Polls until pred() holds, for up to five seconds of real time.
template <typename Pred>
bool eventually(Pred pred) {
  for (auto deadline = std::chrono::steady_clock::now() + 5s;
       std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(1ms)) {
    if (pred()) return true;
  }
  return pred();
}

// A handler that blocks until released (or asked to stop).
struct Gate {
  std::atomic<int> entered{0};
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::atomic<bool> open{false};
  std::atomic<int> stopped{0};

  TaskFunction fn() {
    return [this](const TaskContext& ctx) {
      ++entered;
      int now = ++running;
      for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
      }
      while (!open && !ctx.stop.stop_requested())
        std::this_thread::sleep_for(1ms);
      if (ctx.stop.stop_requested()) ++stopped;
      --running;
      return TaskResult{true, "released"};
    };
  }
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cronkit-engine-" + std::to_string(std::random_device{}()));
    open();
    registry_.add("ok", [](const TaskContext&) { return TaskResult{true, "done"}; });
    registry_.add("fail", [](const TaskContext&) { return TaskResult{false, "boom"}; });
    registry_.add("throw",
                  [](const TaskContext&) -> TaskResult { throw std::runtime_error("exploded"); });
    registry_.add("gate", gate_.fn());
  }
  void TearDown() override {
    gate_.open = true;
    engine_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void open() {
    auto s = store::open_store("sqlite:" + (dir_ / "cronkit.db").string());
    ASSERT_TRUE(s) << s.error();
    store_ = std::move(*s);
  }

  void start(EngineOptions options = {}) {
    engine_ = std::make_unique<Engine>(*store_, clock_, registry_, options);
    engine_->start();
  }

  Task add(std::string cron, std::string function, auto&&... edits) {
    Task t;
    t.id = new_id(clock_.now());
    t.name = "task " + cron;
    t.cron_expression = std::move(cron);
    t.function_name = std::move(function);
    t.created_at = t.updated_at = clock_.now();
    (edits(t), ...);
    EXPECT_TRUE(store_->insert_task(t));
    if (engine_) engine_->schedule(t);
    return t;
  }

  std::vector<Execution> history(const Task& t) {
    auto page = store_->list_executions({.page = 1, .page_size = 1000, .task_id = t.id});
    std::reverse(page.list.begin(), page.list.end());  // oldest first
    return page.list;
  }

  std::vector<Execution> finished(const Task& t) {
    std::vector<Execution> out;
    for (auto& e : history(t)) {
      if (is_terminal(e.status)) out.push_back(e);
    }
    return out;
  }

  bool has_finished(const Task& t, std::size_t n) { return finished(t).size() >= n; }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_{at("2026-03-07T12:00:00Z")};
  Registry registry_;
  Gate gate_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, FiresAtEachInstantAndRecordsEveryState) {
  start();
  Task t = add("* * * * * *", "ok");
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T12:00:01Z"));
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 2); }));
  auto runs = finished(t);
  EXPECT_EQ(runs[0].scheduled_for, at("2026-03-07T12:00:01Z"));
  EXPECT_EQ(runs[1].scheduled_for, at("2026-03-07T12:00:02Z"));
  for (const auto& e : runs) {
    EXPECT_EQ(e.status, ExecutionStatus::success);
    EXPECT_EQ(e.trigger, Trigger::schedule);
    EXPECT_EQ(e.result_summary, "done");
    EXPECT_EQ(e.attempts, 1);
    EXPECT_TRUE(e.started_at && e.finished_at && e.duration_ms);
    EXPECT_EQ(e.node_id, "local");
  }
}

// A watchdog hears from the scheduler's own loop at its interval, also with nothing to fire.
TEST_F(EngineTest, TheSchedulerLoopSaysItIsAliveAtItsInterval) {
  std::mutex mutex;
  std::vector<Millis> calls;
  auto count = [&] {
    std::lock_guard lock{mutex};
    return calls.size();
  };
  const Millis started = clock_.now();
  start({.alive_every_ms = 10'000, .on_alive = [&] {
           std::lock_guard lock{mutex};
           calls.push_back(clock_.now());
         }});
  ASSERT_TRUE(eventually([&] { return count() >= 1; }));
  clock_.advance(10'000);
  ASSERT_TRUE(eventually([&] { return count() >= 2; }));
  clock_.advance(10'000);
  ASSERT_TRUE(eventually([&] { return count() >= 3; }));
  std::lock_guard lock{mutex};
  EXPECT_EQ(calls[0], started);
  EXPECT_EQ(calls[1], started + 10'000);  // not sooner: the clock stood still before
  EXPECT_EQ(calls[2], started + 20'000);
}

// What a start after a crash finds tells it what may have started: an attempt begins only
// once its `running` record is committed.
TEST_F(EngineTest, AnAttemptStartsOnlyOnceItIsStoredAsRunning) {
  std::mutex mutex;
  std::vector<std::optional<ExecutionStatus>> seen;  // the stored status, at each start
  registry_.add("look", [&](const TaskContext& ctx) {
    auto stored = store_->get_execution(ctx.execution_id);
    std::lock_guard lock{mutex};
    seen.push_back(stored ? std::optional{stored->status} : std::nullopt);
    return TaskResult{ctx.attempt == 2, "looked"};
  });
  start();
  Task t = add("0 0 0 1 1 *", "look", [](Task& x) {
    x.max_retries = 1;
    x.retry_delay_seconds = 10;
  });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return history(t)[0].error_message == "looked"; }));
  clock_.advance(10000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t).front().attempts, 2);
  std::lock_guard lock{mutex};
  EXPECT_EQ(seen, (std::vector<std::optional<ExecutionStatus>>{ExecutionStatus::running,
                                                               ExecutionStatus::running}));
}

// The opt-out: the attempt starts at once, and every state is recorded all the same.
TEST_F(EngineTest, StartBeforeStoredRecordsEveryStateAllTheSame) {
  start({.start_before_stored = true});
  Task t = add("* * * * * *", "ok");
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 2); }));
  for (const auto& e : finished(t)) {
    EXPECT_EQ(e.status, ExecutionStatus::success);
    EXPECT_EQ(e.attempts, 1);
    EXPECT_TRUE(e.started_at && e.finished_at);
  }
}

// Back-pressure: with max_concurrency + max_queued firings claimed and unfinished, the
// scheduler claims no more; it is behind, and says so; a firing that comes later than the
// misfire grace is recorded as skipped with the reason; once executions finish it goes on.
TEST_F(EngineTest, AtMaxQueuedClaimsNoMoreAndRecordsWhatComesTooLateAsSkipped) {
  start({.max_concurrency = 1, .max_queued = 2});
  std::vector<Task> tasks;
  for (int i = 0; i < 5; ++i)
    tasks.push_back(add("* * * * * *", "gate"));
  auto all = [&] { return store_->list_executions({.page_size = 100}).list; };
  clock_.advance(1000);  // 12:00:01: five due, three claimed (one runs, two wait)
  ASSERT_TRUE(eventually([&] { return gate_.running == 1 && all().size() == 3; }));
  clock_.advance(500);
  ASSERT_TRUE(eventually([&] { return engine_->counters().behind_ms >= 500; }));
  EXPECT_EQ(all().size(), 3u) << "nothing more claimed while three are unfinished";
  EXPECT_EQ(engine_->counters().waiting, 2);

  // 12:01:02.5: the two left at 12:00:01, and the 12:00:02 of all five, are more than 60 s
  // late: each is recorded once as skipped; nothing runs meanwhile.
  clock_.advance(61000);
  auto skipped = [&] {
    std::vector<Execution> out;
    for (auto& e : all())
      if (e.status == ExecutionStatus::skipped) out.push_back(e);
    return out;
  };
  ASSERT_TRUE(eventually([&] { return skipped().size() == 5; }));
  std::map<Millis, int> skipped_at;
  for (const auto& e : skipped()) {
    EXPECT_NE(e.error_message->find("more than 60 s late"), std::string::npos) << *e.error_message;
    ++skipped_at[e.scheduled_for];
  }
  EXPECT_EQ(skipped_at, (std::map<Millis, int>{{at("2026-03-07T12:00:01Z"), 2},
                                               {at("2026-03-07T12:00:02Z"), 3}}));
  ASSERT_TRUE(eventually([&] { return engine_->counters().missed == 5; }));
  EXPECT_EQ(gate_.entered, 1);

  // Released: the three claimed run, and then every task fires at its next instant.
  gate_.open = true;
  ASSERT_TRUE(eventually([&] {
    return std::ranges::count(all(), ExecutionStatus::success, &Execution::status) == 3;
  }));
  clock_.advance(500);  // 12:01:03
  ASSERT_TRUE(eventually([&] {
    return std::ranges::all_of(tasks, [&](const Task& t) {
      return std::ranges::any_of(history(t), [](const Execution& e) {
        return e.scheduled_for == at("2026-03-07T12:01:03Z") &&
               e.status == ExecutionStatus::success;
      });
    });
  }));
  std::map<ExecutionStatus, int> by_status;
  for (const auto& e : all())
    ++by_status[e.status];
  EXPECT_EQ(by_status[ExecutionStatus::success], 3 + 5);
  EXPECT_EQ(by_status[ExecutionStatus::skipped], 5);
  EXPECT_EQ(all().size(), 13u);
  EXPECT_EQ(engine_->counters().behind_ms, 0);
}

TEST_F(EngineTest, FiresAcrossDstInTheTasksZone) {
  clock_.set(at("2026-03-08T06:59:00Z"));
  start();
  // 02:30 does not exist in New York on 8 March 2026: it fires as the clock resumes.
  Task t = add("0 30 2 * * *", "ok", [](Task& x) { x.timezone = "America/New_York"; });
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-08T07:00:00Z"));
  clock_.set(at("2026-03-08T07:00:00Z"));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t)[0].scheduled_for, at("2026-03-08T07:00:00Z"));
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-09T06:30:00Z"));
}

TEST_F(EngineTest, RetriesAfterTheDelayAndCountsAttempts) {
  std::atomic<int> calls{0};
  registry_.add("flaky", [&](const TaskContext& ctx) {
    ++calls;
    return TaskResult{ctx.attempt == 3, "attempt " + std::to_string(ctx.attempt)};
  });
  start();
  Task t = add("0 0 0 1 1 *", "flaky", [](Task& x) {
    x.max_retries = 3;
    x.retry_delay_seconds = 10;
  });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return calls == 1; }));
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_EQ(calls, 1) << "no retry before the delay";
  auto waiting = history(t);
  ASSERT_EQ(waiting.size(), 1u);
  ASSERT_TRUE(eventually([&] { return history(t)[0].error_message == "attempt 1"; }));
  clock_.advance(10000);
  ASSERT_TRUE(eventually([&] { return calls == 2; }));
  // The retry is timed from when the failed attempt ended: once it is recorded, moving the
  // clock reaches it.
  ASSERT_TRUE(eventually([&] { return history(t)[0].error_message == "attempt 2"; }));
  clock_.advance(10000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto e = finished(t)[0];
  EXPECT_EQ(e.status, ExecutionStatus::success);
  EXPECT_EQ(e.attempts, 3);
  EXPECT_EQ(e.result_summary, "attempt 3");
}

TEST_F(EngineTest, FailsAfterTheLastRetryWithTheLastError) {
  start();
  Task t = add("0 0 0 1 1 *", "throw", [](Task& x) {
    x.max_retries = 1;
    x.retry_delay_seconds = 1;
  });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] {
    clock_.advance(500);
    return has_finished(t, 1);
  }));
  auto e = finished(t)[0];
  EXPECT_EQ(e.status, ExecutionStatus::failed);
  EXPECT_EQ(e.attempts, 2);
  EXPECT_EQ(e.error_message, "exploded");
}

TEST_F(EngineTest, TimeoutStopsACooperativeHandler) {
  start();
  Task t = add("0 0 0 1 1 *", "gate", [](Task& x) { x.timeout_seconds = 5; });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return gate_.entered == 1; }));
  clock_.advance(5000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto e = finished(t)[0];
  EXPECT_EQ(e.status, ExecutionStatus::timed_out);
  EXPECT_EQ(e.error_message, "timed out after 5 s");
  ASSERT_TRUE(eventually([&] { return gate_.stopped == 1; }));
}

TEST_F(EngineTest, TimeoutIsRecordedEvenIfTheHandlerIgnoresIt) {
  std::atomic<bool> release{false};
  std::atomic<bool> inside{false};
  struct Release {  // a failed assertion must not leave the handler spinning
    std::atomic<bool>& flag;
    ~Release() { flag = true; }
  } guard{release};
  registry_.add("stubborn", [&](const TaskContext&) {
    inside = true;
    while (!release)
      std::this_thread::sleep_for(1ms);
    return TaskResult{true, "too late"};
  });
  start();
  Task t = add("0 0 0 1 1 *", "stubborn", [](Task& x) { x.timeout_seconds = 2; });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return inside.load(); }));
  clock_.advance(2000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t)[0].status, ExecutionStatus::timed_out);
  release = true;
  engine_->stop();  // joins the handler's thread: its late result has been reported
  EXPECT_EQ(finished(t)[0].status, ExecutionStatus::timed_out) << "the late success is ignored";
}

TEST_F(EngineTest, OverlapSkipRecordsASkippedExecution) {
  start();
  Task t = add("* * * * * *", "gate", [](Task& x) { x.overlap_policy = OverlapPolicy::skip; });
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return gate_.entered == 1; }));
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t)[0].status, ExecutionStatus::skipped);
  EXPECT_EQ(finished(t)[0].scheduled_for, at("2026-03-07T12:00:02Z"));
  gate_.open = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 2); }));
  EXPECT_EQ(gate_.entered, 1);
}

TEST_F(EngineTest, OverlapReplaceStopsTheRunningOne) {
  start();
  Task t = add("* * * * * *", "gate", [](Task& x) { x.overlap_policy = OverlapPolicy::replace; });
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return gate_.entered == 1; }));
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return gate_.entered == 2; }));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto first = finished(t)[0];
  EXPECT_EQ(first.status, ExecutionStatus::failed);
  EXPECT_EQ(first.scheduled_for, at("2026-03-07T12:00:01Z"));
  EXPECT_NE(first.error_message->find("replaced by execution"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return gate_.stopped >= 1; }));
}

TEST_F(EngineTest, OverlapAllowRunsSideBySide) {
  start();
  Task t = add("* * * * * *", "gate");
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return gate_.entered == 1; }));
  clock_.advance(1000);
  ASSERT_TRUE(eventually([&] { return gate_.entered == 2; }));
  EXPECT_EQ(gate_.running, 2);
}

TEST_F(EngineTest, UnregisteredFunctionFailsWithoutRetrying) {
  start();
  Task t = add("0 0 0 1 1 *", "nope", [](Task& x) { x.max_retries = 5; });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto e = finished(t)[0];
  EXPECT_EQ(e.status, ExecutionStatus::failed);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.error_message,
            "function 'nope' is not registered; registered functions: fail, gate, ok, throw");
}

TEST_F(EngineTest, InvalidPayloadFailsClearly) {
  start();
  Task t = add("0 0 0 1 1 *", "ok", [](Task& x) { x.function_payload = "{oops"; });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_NE(finished(t)[0].error_message->find("functionPayload is not valid JSON"),
            std::string::npos);
}

TEST_F(EngineTest, ConcurrencyLimitHoldsTheRestBack) {
  start({.max_concurrency = 2});
  Task t = add("0 0 0 1 1 *", "gate");
  for (int i = 0; i < 5; ++i)
    engine_->trigger(t);
  // Two started, three wait: the engine's own books say no third was handed to a thread.
  ASSERT_TRUE(eventually([&] {
    auto c = engine_->counters();
    return gate_.entered == 2 && c.running == 2 && c.waiting == 3;
  }));
  EXPECT_EQ(history(t).size(), 5u);
  EXPECT_EQ(gate_.entered, 2);
  gate_.open = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 5); }));
  EXPECT_LE(gate_.peak, 2);
}

TEST_F(EngineTest, WaitingExecutionsStartFirstInFirstOut) {
  std::mutex order_mutex;
  std::vector<std::string> order;
  registry_.add("ordered", [&](const TaskContext& ctx) {
    {
      std::lock_guard lock{order_mutex};
      order.emplace_back(ctx.execution_id);
    }
    return gate_.fn()(ctx);
  });
  start({.max_concurrency = 1});
  Task t = add("0 0 0 1 1 *", "ordered");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(engine_->trigger(t));
    // Each trigger is stored before the next, so the queue order is the trigger order.
    ASSERT_TRUE(eventually([&] { return history(t).size() == ids.size(); }));
  }
  gate_.open = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 5); }));
  EXPECT_EQ(gate_.peak, 1);
  std::lock_guard lock{order_mutex};
  EXPECT_EQ(order, ids);
}

TEST_F(EngineTest, ChangesTakeEffectAtOnce) {
  start();
  Task t = add("0 0 * * * *", "ok");  // hourly
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T13:00:00Z"));
  t.cron_expression = "*/10 * * * * *";
  engine_->schedule(t);
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T12:00:10Z"));
  t.enabled = false;
  engine_->schedule(t);
  EXPECT_FALSE(engine_->next_run(t.id));
  clock_.advance(20000);
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_TRUE(history(t).empty());
  t.enabled = true;
  engine_->schedule(t);
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T12:00:30Z"));
  engine_->unschedule(t.id);
  EXPECT_FALSE(engine_->next_run(t.id));
  EXPECT_EQ(engine_->counters().scheduled_tasks, 0);
}

TEST_F(EngineTest, ClaimsAFiringAheadAndStartsItAtItsInstant) {
  std::atomic<Millis> started{0};
  registry_.add("when", [&](const TaskContext&) {
    started = clock_.now();
    return TaskResult{true, ""};
  });
  start({.queue_ahead_ms = 800});
  Task t = add("0 * * * * *", "when");  // second 0 of every minute: 12:01:00 next
  clock_.set(at("2026-03-07T12:00:59Z") + 300);
  ASSERT_TRUE(eventually([&] { return history(t).size() == 1; })) << "claimed 700 ms ahead";
  auto claimed = history(t)[0];
  EXPECT_EQ(claimed.status, ExecutionStatus::queued);
  EXPECT_EQ(claimed.scheduled_for, at("2026-03-07T12:01:00Z"));
  EXPECT_EQ(claimed.queued_at, at("2026-03-07T12:00:59Z") + 300);
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T12:01:00Z")) << "still the next run";
  EXPECT_TRUE(eventually([&] { return engine_->counters().held == 1; }));
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_EQ(started, 0) << "not before its instant";

  clock_.set(at("2026-03-07T12:01:00Z"));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(started, at("2026-03-07T12:01:00Z"));
  EXPECT_EQ(history(t).size(), 1u) << "the claimed row is the one that ran";
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T12:02:00Z"));
  EXPECT_EQ(engine_->counters().held, 0);
}

TEST_F(EngineTest, AFiringClaimedAheadFollowsChangesToItsTask) {
  std::atomic<int> runs{0};
  std::string seen_payload;
  std::mutex m;
  registry_.add("count", [&](const TaskContext& ctx) {
    std::lock_guard lock{m};
    seen_payload = boost::json::serialize(ctx.payload);
    ++runs;
    return TaskResult{true, ""};
  });
  start({.queue_ahead_ms = 800});
  Task changed = add("0 * * * * *", "count", [](Task& x) { x.function_payload = R"({"v":1})"; });
  Task disabled = add("0 * * * * *", "count");
  Task moved = add("0 * * * * *", "count");
  clock_.set(at("2026-03-07T12:00:59Z") + 500);
  ASSERT_TRUE(eventually([&] {
    return history(changed).size() == 1 && history(disabled).size() == 1 &&
           history(moved).size() == 1;
  }));

  // Before the instant: a new payload, a pause, a pattern that no longer fires at :00.
  changed.function_payload = R"({"v":2})";
  store_->update_task(changed);
  engine_->schedule(changed);
  disabled.enabled = false;
  store_->update_task(disabled);
  engine_->schedule(disabled);
  moved.cron_expression = "30 * * * * *";
  store_->update_task(moved);
  engine_->schedule(moved);
  EXPECT_EQ(engine_->next_run(moved.id), at("2026-03-07T12:01:30Z"));

  clock_.set(at("2026-03-07T12:01:00Z"));
  ASSERT_TRUE(eventually([&] {
    return has_finished(changed, 1) && has_finished(disabled, 1) && has_finished(moved, 1);
  }));
  EXPECT_EQ(finished(changed)[0].status, ExecutionStatus::success);
  EXPECT_EQ(history(changed).size(), 1u) << "claimed once, though rescheduled in the window";
  {
    std::lock_guard lock{m};
    EXPECT_EQ(seen_payload, R"({"v":2})") << "runs with the task as it is at its instant";
  }
  for (const Task* t : {&disabled, &moved}) {
    auto e = finished(*t)[0];
    EXPECT_EQ(e.status, ExecutionStatus::skipped);
    EXPECT_EQ(e.result_summary, "skipped: the task was changed or disabled before its instant");
  }
  EXPECT_EQ(runs, 1);
}

TEST_F(EngineTest, AFiringClaimedAheadBeforeARestartRunsAtItsInstant) {
  std::atomic<Millis> started{0};
  registry_.add("when", [&](const TaskContext&) {
    started = clock_.now();
    return TaskResult{true, ""};
  });
  Task t = add("0 0 0 1 1 *", "when");
  Execution e;
  e.task_id = t.id;
  e.scheduled_for = at("2026-03-07T12:00:00Z") + 600;  // claimed ahead, then the process died
  e.queued_at = clock_.now();
  e.id = new_id(e.queued_at);
  ExecutionWrite w{ExecutionWrite::Kind::insert, e};
  ASSERT_TRUE(store_->write_executions({&w, 1})[0]);
  start();
  EXPECT_EQ(engine_->counters().held, 1);  // start() returns with it held
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_EQ(started, 0);
  clock_.set(at("2026-03-07T12:00:00Z") + 600);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(started, at("2026-03-07T12:00:00Z") + 600);
  EXPECT_EQ(store_->get_execution(e.id)->status, ExecutionStatus::success);
}

TEST_F(EngineTest, BlockingHandlersGetMoreThreadsUpToTheLimit) {
  // More executions block at once than the pool starts with: it grows until all run.
  start({.max_concurrency = 40});
  Task t = add("0 0 0 1 1 *", "gate");
  for (int i = 0; i < 40; ++i)
    engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return gate_.running == 40; }));
  EXPECT_EQ(gate_.peak, 40);
  gate_.open = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 40); }));
}

TEST_F(EngineTest, ForwardJumpDoesNotFloodAndCatchUpRunsOnce) {
  start();
  Task plain = add("0 * * * * *", "ok");
  Task eager = add("0 * * * * *", "ok", [](Task& x) { x.catch_up_policy = CatchUpPolicy::latest; });
  clock_.advance(3600 * 1000 + 30000);  // an hour and a half minute later
  ASSERT_TRUE(eventually([&] { return has_finished(eager, 1); }));
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  // The plain task's first missed instant is recorded as skipped, saying why; the other 59
  // are not run either (one record, not a flood).
  auto skipped = history(plain);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].status, ExecutionStatus::skipped);
  EXPECT_EQ(skipped[0].scheduled_for, at("2026-03-07T12:01:00Z"));
  EXPECT_NE(skipped[0].error_message->find("more than 60 s late"), std::string::npos);
  auto caught = finished(eager);
  ASSERT_EQ(caught.size(), 1u);
  EXPECT_EQ(caught[0].trigger, Trigger::catch_up);
  EXPECT_EQ(caught[0].scheduled_for, at("2026-03-07T13:00:00Z"));
  // Then both carry on with their schedule.
  EXPECT_EQ(engine_->next_run(plain.id), at("2026-03-07T13:01:00Z"));
  clock_.advance(30000);
  ASSERT_TRUE(eventually([&] { return has_finished(plain, 2) && has_finished(eager, 2); }));
  EXPECT_EQ(finished(plain)[1].status, ExecutionStatus::success);
}

TEST_F(EngineTest, BackwardJumpFiresNoInstantTwice) {
  start();
  Task t = add("*/10 * * * * *", "ok");
  for (int i = 0; i < 3; ++i) {
    clock_.advance(10000);
    ASSERT_TRUE(eventually([&] { return has_finished(t, static_cast<std::size_t>(i + 1)); }));
  }
  clock_.advance(-25000);  // back before the last two firings
  for (int i = 0; i < 4; ++i) {
    clock_.advance(10000);
    ASSERT_TRUE(engine_->processed_until(clock_.now()));
  }
  ASSERT_TRUE(eventually([&] { return has_finished(t, 4); }));
  std::set<Millis> instants;
  for (const auto& e : history(t))
    EXPECT_TRUE(instants.insert(e.scheduled_for).second);
  EXPECT_EQ(*instants.rbegin(), at("2026-03-07T12:00:40Z"));
}

TEST_F(EngineTest, RecoversWhatAPreviousRunLeft) {
  Task t = add("0 0 * * * *", "ok", [](Task& x) {
    x.catch_up_policy = CatchUpPolicy::latest;
    x.created_at = at("2026-03-07T09:30:00Z");
  });
  Task quiet = add("0 0 * * * *", "ok");
  Task retried = add("0 0 * * * *", "ok", [](Task& x) { x.max_retries = 1; });
  auto leftover = [&](const Task& task, ExecutionStatus status, Millis scheduled) {
    Execution e;
    e.id = new_id(scheduled);
    e.task_id = task.id;
    e.status = status;
    e.scheduled_for = e.queued_at = scheduled;
    if (status == ExecutionStatus::running) {
      e.started_at = scheduled;
      e.attempts = 1;
    }
    ExecutionWrite w{ExecutionWrite::Kind::insert, e};
    EXPECT_TRUE(store_->write_executions({&w, 1})[0]);
    return e;
  };
  Execution was_running = leftover(quiet, ExecutionStatus::running, at("2026-03-07T10:00:00Z"));
  Execution was_queued = leftover(quiet, ExecutionStatus::queued, at("2026-03-07T11:00:00Z"));
  // With a retry left, the attempt that may have started is retried.
  Execution to_retry = leftover(retried, ExecutionStatus::running, at("2026-03-07T10:00:00Z"));

  start();
  ASSERT_TRUE(eventually([&] {
    return store_->get_execution(was_queued.id)->status == ExecutionStatus::success &&
           store_->get_execution(to_retry.id)->status == ExecutionStatus::success &&
           has_finished(t, 1);
  }));
  auto r = store_->get_execution(was_running.id);
  EXPECT_EQ(r->status, ExecutionStatus::failed);
  EXPECT_EQ(r->error_message, "interrupted by restart");
  EXPECT_EQ(store_->get_execution(to_retry.id)->attempts, 2);
  auto caught = finished(t);
  ASSERT_EQ(caught.size(), 1u);
  EXPECT_EQ(caught[0].trigger, Trigger::catch_up);
  EXPECT_EQ(caught[0].scheduled_for, at("2026-03-07T12:00:00Z"));

  // A second start finds that instant done and catches up nothing more.
  engine_.reset();
  start();
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_EQ(history(t).size(), 1u);
}

TEST_F(EngineTest, CatchUpNeverReachesBeforeTheTaskExisted) {
  Task t = add("0 0 0 1 1 *", "ok",
               [](Task& x) { x.catch_up_policy = CatchUpPolicy::latest; });  // yearly
  start();
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_TRUE(history(t).empty());
}

TEST_F(EngineTest, RetentionAtStartAndTheCleanupFunction) {
  add_builtin_functions(registry_, *store_, clock_);
  Task t =
      add("0 0 0 1 1 *", "cleanup-logs", [](Task& x) { x.function_payload = R"({"days":7})"; });
  auto old = [&](Millis age_days, ExecutionStatus status) {
    Execution e;
    e.task_id = t.id;
    e.status = status;
    e.trigger = Trigger::manual;
    e.scheduled_for = e.queued_at = clock_.now() - age_days * 86400000;
    e.id = new_id(e.queued_at);
    ExecutionWrite w{ExecutionWrite::Kind::insert, e};
    EXPECT_TRUE(store_->write_executions({&w, 1})[0]);
  };
  old(40, ExecutionStatus::success);
  old(40, ExecutionStatus::failed);
  old(10, ExecutionStatus::success);
  old(1, ExecutionStatus::success);
  for (Millis age_days : {400, 300}) {
    const Millis at = clock_.now() - age_days * 86400000;
    store_->record({.id = new_id(at), .at = at, .actor = "ci", .action = "task.update"});
  }
  start({.log_retention_days = 30, .audit_retention_days = 365});
  ASSERT_TRUE(eventually([&] { return history(t).size() == 3; })) << "the 40-day success goes";
  ASSERT_TRUE(eventually([&] { return store_->list_audit({}).total == 1; }))
      << "the audit entry older than 365 days goes";
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] {
    auto runs = finished(t);
    return !runs.empty() && runs.back().trigger == Trigger::manual &&
           runs.back().result_summary.has_value() &&
           runs.back().status == ExecutionStatus::success && runs.back().started_at.has_value() &&
           runs.back().finished_at.has_value() &&
           runs.back().result_summary->starts_with("deleted");
  }));
  auto runs = finished(t);
  EXPECT_EQ(runs.back().result_summary, "deleted 1 successful execution older than 7 days");
  EXPECT_EQ(history(t).size(), 3u);  // 40-day failure, 1-day success, this run
}

TEST_F(EngineTest, StopLetsRunningFinishAndInterruptsTheRest) {
  start({.shutdown_grace_ms = 50});
  Task t = add("0 0 0 1 1 *", "gate");
  std::string id = engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return gate_.entered == 1; }));
  engine_->stop();  // the gate opens only when asked to stop
  auto e = store_->get_execution(id);
  EXPECT_EQ(e->status, ExecutionStatus::failed);
  EXPECT_EQ(e->error_message, "interrupted by shutdown");
  EXPECT_EQ(gate_.stopped, 1);
}

TEST_F(EngineTest, StopWaitsForWorkThatFinishesInTime) {
  std::atomic<bool> inside{false};
  registry_.add("quick", [&](const TaskContext&) {
    inside = true;
    std::this_thread::sleep_for(30ms);
    return TaskResult{true, "finished"};
  });
  start({.shutdown_grace_ms = 5000});
  Task t = add("0 0 0 1 1 *", "quick");
  std::string id = engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return inside.load(); }));
  engine_->stop();
  EXPECT_EQ(store_->get_execution(id)->status, ExecutionStatus::success);
}

TEST_F(EngineTest, HandlerSeesItsContext) {
  std::mutex m;
  std::string seen;
  registry_.add("inspect", [&](const TaskContext& ctx) {
    std::lock_guard lock{m};
    seen = std::string(ctx.task_name) + "|" + std::to_string(ctx.attempt) + "|" +
           std::to_string(ctx.payload.at("n").as_int64()) + "|" +
           (ctx.execution_id.empty() ? "no id" : "id");
    return TaskResult{true, ""};
  });
  start();
  Task t = add("0 0 0 1 1 *", "inspect", [](Task& x) {
    x.name = "inspector";
    x.function_payload = R"({"n": 42})";
  });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  std::lock_guard lock{m};
  EXPECT_EQ(seen, "inspector|1|42|id");
}

class EngineHttpTest : public EngineTest {
 protected:
  Task http(const std::string& path, auto&&... edits) {
    return add("0 0 0 1 1 *", "", [&](Task& t) {
      t.type = TaskType::http;
      t.function_name.reset();
      t.http_method = "POST";
      t.http_url = server_.url(path);
      t.http_body = "ping";
      (edits(t), ...);
    });
  }
  cronkit::testing::TestHttpServer server_;
};

TEST_F(EngineHttpTest, RecordsStatusAndOutput) {
  start();
  Task t = http("/status/200");
  std::string id = engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto e = finished(t)[0];
  EXPECT_EQ(e.status, ExecutionStatus::success);
  EXPECT_EQ(e.result_summary, "HTTP 200 OK");
  EXPECT_EQ(e.output, "status 200");
  auto req = server_.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.body, "ping");
  EXPECT_EQ(req.headers["x-cronkit-task-id"], t.id);
  EXPECT_EQ(req.headers["x-cronkit-execution-id"], id);
}

TEST_F(EngineHttpTest, FailureIsRetried) {
  start();
  Task t = http("/status/500", [](Task& x) {
    x.max_retries = 2;
    x.retry_delay_seconds = 1;
  });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] {
    clock_.advance(250);
    return has_finished(t, 1);
  }));
  auto e = finished(t)[0];
  EXPECT_EQ(e.status, ExecutionStatus::failed);
  EXPECT_EQ(e.attempts, 3);
  EXPECT_EQ(e.error_message, "HTTP 500 Internal Server Error");
  EXPECT_EQ(e.output, "status 500");
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(EngineHttpTest, DeadlineAbortsTheRequest) {
  start();
  Task t = http("/hang", [](Task& x) { x.timeout_seconds = 30; });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return !server_.requests().empty(); }));
  clock_.advance(30000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t)[0].status, ExecutionStatus::timed_out);
  EXPECT_EQ(finished(t)[0].error_message, "timed out after 30 s");
}

TEST_F(EngineHttpTest, ScheduledFiringCarriesItsInstant) {
  start();
  Task t = add("*/5 * * * * *", "", [&](Task& x) {
    x.type = TaskType::http;
    x.function_name.reset();
    x.http_url = server_.url("/echo");
  });
  clock_.advance(5000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(server_.requests().at(0).headers["x-cronkit-scheduled-for"], "2026-03-07T12:00:05Z");
  EXPECT_EQ(server_.requests().at(0).method, "GET");
}

TEST_F(EngineHttpTest, NonHttpUrlFails) {
  start();
  Task t = http("", [](Task& x) { x.http_url = "file:///etc/passwd"; });
  engine_->trigger(t);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t)[0].status, ExecutionStatus::failed);
  EXPECT_EQ(finished(t)[0].error_message,
            "only http and https URLs are allowed (also after a redirect)");
}

}  // namespace
}  // namespace cronkit::engine

namespace cronkit::engine {
namespace {

class EngineCommandTest : public EngineTest {
 protected:
  void start_with_commands() {
    start({.commands = {.allowed = true,
                        .state_directory = dir_.string(),
                        .kill_grace = std::chrono::milliseconds{200}}});
  }
  Task command(std::string cron, std::string argv_json, auto&&... edits) {
    return add(std::move(cron), "", [&](Task& t) {
      t.type = TaskType::command;
      t.function_name.reset();
      t.command = std::move(argv_json);
      (edits(t), ...);
    });
  }
};

TEST_F(EngineCommandTest, AFiringRunsTheProgramWithItsInstant) {
  start_with_commands();
  Task t = command("*/5 * * * * *", R"(["/bin/sh","-c","echo $CRONKIT_SCHEDULED_FOR; exit 4"])",
                   [](Task& x) { x.max_retries = 0; });
  clock_.advance(5000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto e = finished(t)[0];
  EXPECT_EQ(e.status, ExecutionStatus::failed);
  EXPECT_EQ(e.error_message, "exit 4");
  EXPECT_EQ(e.output, "2026-03-07T12:00:05Z\n");
  EXPECT_EQ(e.scheduled_for, at("2026-03-07T12:00:05Z"));
}

TEST_F(EngineCommandTest, TheDeadlineEndsTheProgram) {
  start_with_commands();
  const auto pid_file = dir_ / "pid";
  Task t = command("0 0 0 1 1 *",
                   R"(["/bin/sh","-c","echo $$ > )" + pid_file.string() + R"(; exec sleep 1000"])",
                   [](Task& x) { x.timeout_seconds = 5; });
  engine_->trigger(t);
  std::string pid;
  ASSERT_TRUE(eventually([&] {
    std::ifstream in(pid_file);
    return static_cast<bool>(std::getline(in, pid)) && !pid.empty();
  }));
  clock_.advance(5000);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t)[0].status, ExecutionStatus::timed_out);
  EXPECT_TRUE(eventually([&] { return ::kill(std::stoi(pid), 0) != 0; })) << "sleep survived";
}

}  // namespace
}  // namespace cronkit::engine

namespace cronkit::engine {
namespace {

// Retry policies. A retry's time is decided when its attempt fails, on the clock as it is
// then; the tests read the moment from the engine's counters (the run waits, nothing runs)
// and move the clock to just before and to the end of the window the policy allows.
class EngineRetryTest : public EngineTest {
 protected:
  // Waits until `attempts` attempts have run and the run waits to retry; returns the
  // clock's time then (when the retry was timed from).
  Millis waiting_after(const std::function<int()>& attempts, int n) {
    EXPECT_TRUE(eventually([&] {
      auto c = engine_->counters();
      return attempts() == n && c.running == 0 && c.waiting == 1;
    })) << "attempt "
        << n << " failed and waits";
    return clock_.now();
  }
  // The next attempt starts no sooner than `earliest` and by `latest` after `from`.
  void next_attempt_between(const std::function<int()>& attempts, int n, Millis from,
                            Millis earliest, Millis latest) {
    clock_.set(from + earliest - 1);
    ASSERT_TRUE(engine_->processed_until(clock_.now()));
    EXPECT_EQ(engine_->counters().running + attempts(), n)
        << "attempt " << n + 1 << " started before " << earliest << " ms";
    clock_.set(from + latest);
    EXPECT_TRUE(eventually([&] { return attempts() == n + 1; }))
        << "attempt " << n + 1 << " did not start by " << latest << " ms";
  }
};

TEST_F(EngineRetryTest, ExponentialBackoffDoublesUpToTheCapShortenedAtRandom) {
  std::atomic<int> calls{0};
  registry_.add("always-fails", [&](const TaskContext&) {
    ++calls;
    return TaskResult{false, "no"};
  });
  start();
  Task t = add("0 0 0 1 1 *", "always-fails", [](Task& x) {
    x.max_retries = 4;
    x.retry_delay_seconds = 10;
    x.retry_backoff = RetryBackoff::exponential;
    x.retry_max_delay_seconds = 25;
  });
  engine_->trigger(t);
  const auto attempts = [&] { return calls.load(); };
  // 10 s, 20 s, then 40 s and 80 s capped at 25 s; each shortened by up to 20%.
  const Millis expected[] = {10000, 20000, 25000, 25000};
  for (int n = 1; n <= 4; ++n) {
    const Millis failed_at = waiting_after(attempts, n);
    const Millis full = expected[n - 1];
    next_attempt_between(attempts, n, failed_at, full * 8 / 10, full);
  }
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(finished(t)[0].attempts, 5);
  EXPECT_EQ(finished(t)[0].status, ExecutionStatus::failed);
}

TEST_F(EngineRetryTest, FixedBackoffIsExactlyTheDelay) {
  std::atomic<int> calls{0};
  registry_.add("always-fails", [&](const TaskContext&) {
    ++calls;
    return TaskResult{false, "no"};
  });
  start();
  Task t = add("0 0 0 1 1 *", "always-fails", [](Task& x) {
    x.max_retries = 2;
    x.retry_delay_seconds = 7;
    x.retry_max_delay_seconds = 1;  // the cap is for exponential backoff and Retry-After
  });
  engine_->trigger(t);
  const auto attempts = [&] { return calls.load(); };
  for (int n = 1; n <= 2; ++n) {
    const Millis failed_at = waiting_after(attempts, n);
    next_attempt_between(attempts, n, failed_at, 7000, 7000);
  }
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
}

class EngineRetryAfterTest : public EngineRetryTest {
 protected:
  cronkit::testing::TestHttpServer server_;
};

TEST_F(EngineRetryAfterTest, RetryAfterHoldsTheNextAttemptBackUpToTheCap) {
  start();
  auto task = [&](const std::string& path, int cap) {
    return add("0 0 0 1 1 *", "", [&](Task& x) {
      x.type = TaskType::http;
      x.function_name.reset();
      x.http_url = server_.url(path);
      x.max_retries = 1;
      x.retry_delay_seconds = 1;
      x.retry_max_delay_seconds = cap;
    });
  };
  const auto requests = [&](const std::string& path) {
    return [this, path] {
      int n = 0;
      for (const auto& r : server_.requests())
        n += r.path == path;
      return n;
    };
  };
  // 503 with Retry-After: 30 -> the retry waits 30 s instead of 1 s.
  Task held = task("/retry-after/30", 3600);
  engine_->trigger(held);
  Millis failed_at = waiting_after(requests("/retry-after/30"), 1);
  next_attempt_between(requests("/retry-after/30"), 1, failed_at, 30000, 30000);
  ASSERT_TRUE(eventually([&] { return has_finished(held, 1); }));
  EXPECT_EQ(finished(held)[0].error_message, "HTTP 503 Service Unavailable");

  // The cap bounds it: 20 s, not 30.
  Task capped = task("/retry-after/31", 20);
  engine_->trigger(capped);
  failed_at = waiting_after(requests("/retry-after/31"), 1);
  next_attempt_between(requests("/retry-after/31"), 1, failed_at, 20000, 20000);
  ASSERT_TRUE(eventually([&] { return has_finished(capped, 1); }));
}

}  // namespace
}  // namespace cronkit::engine

namespace cronkit::engine {
namespace {

// buffer_one and buffer_all: a firing that comes while the task runs waits for it.
class EngineBufferTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    registry_.add("in-order", [this](const TaskContext& ctx) {
      {
        std::lock_guard lock{m_};
        started_.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                               ctx.scheduled_for.time_since_epoch())
                               .count());
      }
      while (!open_ && !ctx.stop.stop_requested())
        std::this_thread::sleep_for(1ms);
      return TaskResult{true, "done"};
    });
  }
  void TearDown() override {
    open_ = true;
    EngineTest::TearDown();
  }
  std::vector<Millis> started() {
    std::lock_guard lock{m_};
    return started_;
  }
  // Moves the clock one second and waits until that second's firing was handled.
  void tick() {
    clock_.advance(1000);
    ASSERT_TRUE(engine_->processed_until(clock_.now()));
  }

  std::mutex m_;
  std::vector<Millis> started_;
  std::atomic<bool> open_{false};
};

TEST_F(EngineBufferTest, BufferOneKeepsOneWaitingAndSkipsTheRest) {
  start();
  Task t =
      add("* * * * * *", "in-order", [](Task& x) { x.overlap_policy = OverlapPolicy::buffer_one; });
  tick();  // 12:00:01 runs
  ASSERT_TRUE(eventually([&] { return started().size() == 1; }));
  tick();  // 12:00:02 waits
  tick();  // 12:00:03 is skipped
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto skipped = finished(t)[0];
  EXPECT_EQ(skipped.status, ExecutionStatus::skipped);
  EXPECT_EQ(skipped.scheduled_for, at("2026-03-07T12:00:03Z"));
  EXPECT_NE(skipped.result_summary->find("already waits for the running one to end"),
            std::string::npos)
      << *skipped.result_summary;
  EXPECT_EQ(started().size(), 1u) << "the waiting one has not started";
  open_ = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 3); }));
  EXPECT_EQ(started(),
            (std::vector<Millis>{at("2026-03-07T12:00:01Z"), at("2026-03-07T12:00:02Z")}));
}

TEST_F(EngineBufferTest, BufferAllRunsEveryWaitingFiringInOrder) {
  start();
  Task t =
      add("* * * * * *", "in-order", [](Task& x) { x.overlap_policy = OverlapPolicy::buffer_all; });
  for (int i = 0; i < 4; ++i)
    tick();
  ASSERT_TRUE(eventually([&] { return started().size() == 1; }));
  // Each claimed firing is handed to the run state machine once its insert commits.
  ASSERT_TRUE(eventually([&] { return engine_->counters().waiting == 3; }))
      << "three stored as queued, waiting";
  auto queued = store_->list_executions(
      {.page = 1, .page_size = 10, .task_id = t.id, .status = ExecutionStatus::queued});
  EXPECT_EQ(queued.total, 3);
  open_ = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 4); }));
  EXPECT_EQ(started(),
            (std::vector<Millis>{at("2026-03-07T12:00:01Z"), at("2026-03-07T12:00:02Z"),
                                 at("2026-03-07T12:00:03Z"), at("2026-03-07T12:00:04Z")}));
  for (const auto& e : finished(t))
    EXPECT_EQ(e.status, ExecutionStatus::success);
}

TEST_F(EngineBufferTest, WaitingFiringsSurviveARestart) {
  start({.shutdown_grace_ms = 0});
  Task t =
      add("* * * * * *", "in-order", [](Task& x) { x.overlap_policy = OverlapPolicy::buffer_all; });
  for (int i = 0; i < 3; ++i)
    tick();
  ASSERT_TRUE(eventually([&] { return started().size() == 1; }));
  ASSERT_TRUE(eventually([&] { return engine_->counters().waiting == 2; }));
  engine_.reset();  // stops: the running one is interrupted, the waiting ones stay queued
  auto queued = store_->list_executions(
      {.page = 1, .page_size = 10, .task_id = t.id, .status = ExecutionStatus::queued});
  EXPECT_EQ(queued.total, 2);
  open_ = true;
  start();
  ASSERT_TRUE(eventually([&] {
    int ok = 0;
    for (const auto& e : finished(t))
      ok += e.status == ExecutionStatus::success;
    return ok == 2;
  }));
  auto all = started();
  ASSERT_GE(all.size(), 3u);
  EXPECT_EQ(std::vector<Millis>(all.begin() + 1, all.begin() + 3),
            (std::vector<Millis>{at("2026-03-07T12:00:02Z"), at("2026-03-07T12:00:03Z")}));
}

class EngineJitterTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    registry_.add("when", [this](const TaskContext& ctx) {
      {
        std::lock_guard lock{m_};
        starts_.emplace_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 ctx.scheduled_for.time_since_epoch())
                                 .count(),
                             clock_.now());
      }
      while (!open_ && !ctx.stop.stop_requested())
        std::this_thread::sleep_for(1ms);
      return TaskResult{true, "done"};
    });
  }
  void TearDown() override {
    open_ = true;
    EngineTest::TearDown();
  }
  // (instant, when it started) of each run so far.
  std::vector<std::pair<Millis, Millis>> starts() {
    std::lock_guard lock{m_};
    return starts_;
  }
  std::mutex m_;
  std::vector<std::pair<Millis, Millis>> starts_;
  std::atomic<bool> open_{true};
};

TEST_F(EngineJitterTest, AFiringStartsItsJitterDelayAfterItsInstant) {
  start();
  Task t = add("0 * * * * *", "when", [](Task& x) { x.jitter_seconds = 30; });
  const Millis instant = at("2026-03-07T12:01:00Z");
  const Millis start = instant + jitter_delay(t.id, instant, 30000);
  EXPECT_EQ(engine_->next_run(t.id), start) << "nextRun includes the delay";
  clock_.set(start - 1);
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_TRUE(starts().empty()) << "not before its start";
  EXPECT_EQ(engine_->next_run(t.id), start);
  clock_.set(start);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(starts(), (std::vector<std::pair<Millis, Millis>>{{instant, start}}));
  auto e = finished(t)[0];
  EXPECT_EQ(e.scheduled_for, instant) << "scheduledFor stays the cron instant";
  EXPECT_EQ(e.started_at, start) << "startedAt shows the delay";
  const Millis following = at("2026-03-07T12:02:00Z");
  EXPECT_EQ(engine_->next_run(t.id), following + jitter_delay(t.id, following, 30000));
}

TEST_F(EngineJitterTest, OverlapIsJudgedWhenAJitteredFiringStarts) {
  open_ = false;
  start();
  Task t = add("*/10 * * * * *", "when", [](Task& x) {
    x.jitter_seconds = 20;  // at most the 10 s to the following instant
    x.overlap_policy = OverlapPolicy::skip;
  });
  const Millis first = at("2026-03-07T12:00:10Z"), second = at("2026-03-07T12:00:20Z");
  const Millis first_start = first + jitter_delay(t.id, first, 10000);
  const Millis second_start = second + jitter_delay(t.id, second, 10000);
  clock_.set(first_start);
  ASSERT_TRUE(eventually([&] { return starts().size() == 1; }));
  clock_.set(second_start);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto skipped = finished(t)[0];
  EXPECT_EQ(skipped.status, ExecutionStatus::skipped);
  EXPECT_EQ(skipped.scheduled_for, second);
  EXPECT_EQ(skipped.finished_at, second_start) << "skipped at its start, not its instant";
  open_ = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 2); }));
  EXPECT_EQ(starts(), (std::vector<std::pair<Millis, Millis>>{{first, first_start}}));
}

TEST_F(EngineJitterTest, AJitteredFiringClaimedBeforeARestartStartsAtTheSameDelay) {
  Task t = add("0 * * * * *", "when", [](Task& x) { x.jitter_seconds = 50; });
  const Millis instant = at("2026-03-07T12:01:00Z");
  const Millis start_at = instant + jitter_delay(t.id, instant, 50000);
  Execution e;  // claimed ahead of its start, then the process died
  e.task_id = t.id;
  e.scheduled_for = instant;
  e.queued_at = clock_.now();
  e.id = new_id(e.queued_at);
  ExecutionWrite w{ExecutionWrite::Kind::insert, e};
  ASSERT_TRUE(store_->write_executions({&w, 1})[0]);
  clock_.set(instant);
  start();
  EXPECT_EQ(engine_->counters().held, start_at > instant ? 1 : 0);
  clock_.set(start_at);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  EXPECT_EQ(starts(), (std::vector<std::pair<Millis, Millis>>{{instant, start_at}}));
  EXPECT_EQ(store_->get_execution(e.id)->status, ExecutionStatus::success);
}

// maxRuns and pauseAfterFailures: the engine checks a task's limits through TaskService, as
// the server wires it.
class EngineLimitTest : public EngineTest {
 protected:
  void start(EngineOptions options = {}) {
    EngineTest::start(options);
    service_ = std::make_unique<TaskService>(*store_, *engine_, clock_);
    engine_->on_limits([this](const std::string& id) { service_->check_limits(id); });
  }
  void TearDown() override {
    if (engine_) engine_->on_limits({});
    service_.reset();
    EngineTest::TearDown();
  }
  // Moves the clock to `t` and waits until everything due by then was handled.
  void step_to(Millis t) {
    clock_.set(t);
    ASSERT_TRUE(engine_->processed_until(t));
  }
  std::unique_ptr<TaskService> service_;
};

TEST_F(EngineLimitTest, MaxRunsPausesTheTaskAndItsLastRunStillRuns) {
  start({.queue_ahead_ms = 800});
  Task t = add("* * * * * *", "ok", [](Task& x) { x.max_runs = 3; });
  step_to(at("2026-03-07T12:00:01Z"));
  step_to(at("2026-03-07T12:00:02Z"));
  // 12:00:03 is claimed ahead: the third counted run, whose claim pauses the task.
  step_to(at("2026-03-07T12:00:02Z") + 500);
  ASSERT_TRUE(eventually([&] { return !store_->get_task(t.id)->enabled; }));
  ASSERT_TRUE(eventually([&] { return !engine_->scheduled(t.id); }));
  EXPECT_FALSE(engine_->next_run(t.id));
  auto paused = *store_->get_task(t.id);
  EXPECT_EQ(paused.run_count, 3);
  EXPECT_EQ(paused.paused_note, "paused by cronkit: made its 3 runs (maxRuns)");
  EXPECT_EQ(paused.paused_at, at("2026-03-07T12:00:02Z") + 500);
  step_to(at("2026-03-07T12:00:03Z"));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 3); }));
  for (int s = 4; s <= 6; ++s)
    step_to(at("2026-03-07T12:00:00Z") + s * 1000);
  auto all = history(t);
  ASSERT_EQ(all.size(), 3u) << "three runs, no more";
  for (const auto& e : all) {
    EXPECT_EQ(e.status, ExecutionStatus::success) << e.scheduled_for;
  }
  EXPECT_EQ(all.back().scheduled_for, at("2026-03-07T12:00:03Z"));

  // Manual runs do not count; a resume needs a higher limit.
  engine_->trigger(*store_->get_task(t.id));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 4); }));
  EXPECT_EQ(store_->get_task(t.id)->run_count, 3);
  EXPECT_THROW(service_->set_enabled(t.id, true), TaskService::Refused);
  auto raised = service_->update(t.id, [](const Task& c) {
    Task x = c;
    x.max_runs = 4;
    x.enabled = true;
    return x;
  });
  ASSERT_TRUE(raised);
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T12:00:07Z"));
  step_to(at("2026-03-07T12:00:07Z"));
  step_to(at("2026-03-07T12:00:08Z"));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 5); }));
  ASSERT_TRUE(eventually([&] { return !store_->get_task(t.id)->enabled; }));
  EXPECT_EQ(store_->get_task(t.id)->run_count, 4);
  EXPECT_EQ(history(t).size(), 5u);
}

TEST_F(EngineLimitTest, PauseAfterFailuresCountsExecutionsAfterTheirRetries) {
  start();
  Task t = add("*/10 * * * * *", "fail", [](Task& x) {
    x.max_retries = 2;
    x.retry_delay_seconds = 1;
    x.pause_after_failures = 2;
  });
  // :10 fails at :10, :11 and :12; :20 at :20, :21 and :22; then the task pauses. Each
  // attempt ends before the clock moves on, so that its retry is due a second later.
  auto attempts = [&] {
    int n = 0;
    for (const auto& e : history(t))
      n += e.attempts;
    return n;
  };
  for (int s = 10; s <= 22; ++s) {
    step_to(at("2026-03-07T12:00:00Z") + s * 1000);
    const int expected = s <= 12 ? s - 9 : s < 20 ? 3 : 3 + (s - 19);
    ASSERT_TRUE(eventually([&] {
      return attempts() == expected && engine_->counters().running == 0;
    })) << s;
    if (s == 12) {
      ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
      EXPECT_TRUE(store_->get_task(t.id)->enabled) << "one failure is not two";
    }
  }
  // The pause is written to the store first, then handed to the engine: wait for both.
  ASSERT_TRUE(
      eventually([&] { return !store_->get_task(t.id)->enabled && !engine_->next_run(t.id); }));
  auto paused = *store_->get_task(t.id);
  EXPECT_EQ(paused.paused_note, "paused by cronkit: 2 failures in a row (pauseAfterFailures)");
  auto done = finished(t);
  ASSERT_EQ(done.size(), 2u);
  for (const auto& e : done) {
    EXPECT_EQ(e.status, ExecutionStatus::failed);
    EXPECT_EQ(e.attempts, 3) << "counted after its retries";
  }
  // Resumed, the count starts again: one more failure does not pause it.
  step_to(at("2026-03-07T12:00:25Z"));
  service_->set_enabled(t.id, true);
  for (int s = 30; s <= 32; ++s) {
    step_to(at("2026-03-07T12:00:00Z") + s * 1000);
    ASSERT_TRUE(eventually([&] { return attempts() == 6 + (s - 29); }));
    ASSERT_TRUE(eventually([&] { return engine_->counters().running == 0; }));
  }
  ASSERT_TRUE(eventually([&] { return has_finished(t, 3); }));
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_TRUE(store_->get_task(t.id)->enabled);
}

// catchUpPolicy `all`: every missed instant within the window, oldest first, through the
// overlap policy, at most 1,000 claimed at a time.
class EngineCatchUpTest : public EngineBufferTest {
 protected:
  std::vector<Millis> instants(const Task& t, Trigger trigger) {
    std::vector<Millis> out;
    for (const auto& e : history(t)) {
      if (e.trigger == trigger) out.push_back(e.scheduled_for);
    }
    return out;
  }
  static std::vector<Millis> every(Millis first, Millis step, int n) {
    std::vector<Millis> out;
    for (int i = 0; i < n; ++i)
      out.push_back(first + step * i);
    return out;
  }
};

TEST_F(EngineCatchUpTest, AllRunsEveryMissedInstantOldestFirst) {
  open_ = true;
  Task t =
      add("0 */10 * * * *", "in-order", [](Task& x) { x.catch_up_policy = CatchUpPolicy::all; });
  clock_.set(at("2026-03-07T15:05:00Z"));  // no server ran for three hours
  start({.max_concurrency = 1});
  ASSERT_TRUE(eventually([&] { return has_finished(t, 18); }));
  const auto owed = every(at("2026-03-07T12:10:00Z"), 600000, 18);
  EXPECT_EQ(started(), owed) << "run oldest first";
  auto caught = instants(t, Trigger::catch_up);
  std::ranges::sort(caught);
  EXPECT_EQ(caught, owed) << "each once";
  for (const auto& e : finished(t))
    EXPECT_EQ(e.status, ExecutionStatus::success);
  EXPECT_EQ(engine_->next_run(t.id), at("2026-03-07T15:10:00Z"));
  // A restart owes nothing more.
  engine_.reset();
  start();
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_EQ(history(t).size(), 18u);
}

TEST_F(EngineCatchUpTest, AllAfterAThreeHourOutageGoesThroughBufferOne) {
  Task t = add("0 */10 * * * *", "in-order", [](Task& x) {
    x.catch_up_policy = CatchUpPolicy::all;
    x.overlap_policy = OverlapPolicy::buffer_one;
  });
  clock_.set(at("2026-03-07T15:05:00Z"));
  start();
  // The oldest runs, the next waits, the other sixteen are recorded skipped.
  ASSERT_TRUE(eventually([&] { return has_finished(t, 16); }));
  ASSERT_TRUE(eventually([&] { return started().size() == 1; }));
  EXPECT_EQ(started(), std::vector<Millis>{at("2026-03-07T12:10:00Z")});
  for (const auto& e : finished(t)) {
    EXPECT_EQ(e.status, ExecutionStatus::skipped);
    EXPECT_GE(e.scheduled_for, at("2026-03-07T12:30:00Z"));
  }
  open_ = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 18); }));
  EXPECT_EQ(started(),
            (std::vector<Millis>{at("2026-03-07T12:10:00Z"), at("2026-03-07T12:20:00Z")}));
}

TEST_F(EngineCatchUpTest, AllKeepsToItsWindowAndCatchesUpAfterAClockJump) {
  open_ = true;
  start();
  Task t = add("0 0 * * * *", "in-order", [](Task& x) {
    x.catch_up_policy = CatchUpPolicy::all;
    x.catch_up_window_seconds = 3 * 3600;
  });
  clock_.set(at("2026-03-07T13:00:00Z"));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  // The process was stopped for two days: only the last three hours are owed.
  clock_.set(at("2026-03-09T13:30:00Z"));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 4); }));
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  auto caught = instants(t, Trigger::catch_up);
  std::ranges::sort(caught);
  EXPECT_EQ(caught, every(at("2026-03-09T11:00:00Z"), 3600000, 3));
  EXPECT_EQ(history(t).size(), 4u);
}

TEST_F(EngineCatchUpTest, AllClaimsAThousandAtATimeUntilEveryInstantRan) {
  Task t = add("* * * * * *", "in-order", [](Task& x) { x.catch_up_policy = CatchUpPolicy::all; });
  clock_.set(at("2026-03-07T12:25:00Z") + 500);  // 1,500 seconds missed
  start();
  // The first thousand wait behind the five running; the rest is not claimed yet.
  ASSERT_TRUE(eventually([&] {
    auto c = engine_->counters();
    return c.running == 5 && c.waiting == 995;
  }));
  ASSERT_TRUE(engine_->processed_until(clock_.now()));
  EXPECT_EQ(
      store_->list_executions({.page_size = 1, .task_id = t.id, .status = ExecutionStatus::queued})
          .total,
      995 + 1)
      << "and the next scheduled firing, held";
  open_ = true;
  auto succeeded = [&] {
    return store_
        ->list_executions({.page_size = 1, .task_id = t.id, .status = ExecutionStatus::success})
        .total;
  };
  ASSERT_TRUE(eventually([&] { return succeeded() == 1500; })) << succeeded();
  std::vector<Millis> owed;
  for (int page = 1; page <= 2; ++page) {
    for (const auto& e :
         store_->list_executions({.page = page, .page_size = 1000, .task_id = t.id}).list) {
      if (e.trigger == Trigger::catch_up) owed.push_back(e.scheduled_for);
    }
  }
  std::ranges::sort(owed);
  EXPECT_EQ(owed, every(at("2026-03-07T12:00:01Z"), 1000, 1500)) << "each instant once";
}

TEST_F(EngineCatchUpTest, BackfillRunsTheInstantsInOrderOnceWithItsOwnOverlapPolicy) {
  open_ = true;
  clock_.set(at("2026-03-07T13:00:00Z"));
  start({.max_concurrency = 1});
  Task t = add("0 */10 * * * *", "in-order", [](Task& x) {
    x.enabled = false;
    x.max_runs = 100;
  });
  const auto hour = every(at("2026-03-07T12:00:00Z"), 600000, 6);
  engine_->backfill(t, hour, std::nullopt);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 6); }));
  EXPECT_EQ(started(), hour) << "oldest first";
  EXPECT_EQ(instants(t, Trigger::backfill).size(), 6u);
  EXPECT_EQ(store_->get_task(t.id)->run_count, 0) << "a backfill is not counted against maxRuns";
  // The same instants again: claimed already, not run.
  engine_->backfill(t, hour, std::nullopt);
  const auto before = every(at("2026-03-07T11:00:00Z"), 600000, 6);
  open_ = false;
  engine_->backfill(t, before, OverlapPolicy::buffer_one);
  ASSERT_TRUE(eventually([&] { return has_finished(t, 6 + 4); }));
  auto all = history(t);
  EXPECT_EQ(all.size(), 12u) << "the repeat claimed nothing";
  int skipped = 0;
  for (const auto& e : finished(t))
    skipped += e.status == ExecutionStatus::skipped;
  EXPECT_EQ(skipped, 4) << "buffer_one for this backfill: one runs, one waits, four skip";
  open_ = true;
  ASSERT_TRUE(eventually([&] { return has_finished(t, 12); }));
}

TEST_F(EngineLimitTest, AnEndAtDuringARetryEndsTheScheduleNotTheRetry) {
  start();
  Task t = add("*/10 * * * * *", "fail", [&](Task& x) {
    x.max_retries = 1;
    x.retry_delay_seconds = 10;
    x.end_at = at("2026-03-07T12:00:15Z");
  });
  step_to(at("2026-03-07T12:00:10Z"));
  ASSERT_TRUE(eventually([&] {
    auto h = history(t);
    return h.size() == 1 && h[0].attempts == 1 && h[0].error_message &&
           engine_->counters().running == 0;
  }));
  EXPECT_FALSE(engine_->next_run(t.id)) << "no instant after endAt";
  // 12:00:20: past endAt, no firing; the retry of the 12:00:10 firing still comes.
  step_to(at("2026-03-07T12:00:20Z"));
  ASSERT_TRUE(eventually([&] { return has_finished(t, 1); }));
  auto h = history(t);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].scheduled_for, at("2026-03-07T12:00:10Z"));
  EXPECT_EQ(h[0].attempts, 2);
  EXPECT_EQ(h[0].status, ExecutionStatus::failed);
}

}  // namespace
}  // namespace cronkit::engine
