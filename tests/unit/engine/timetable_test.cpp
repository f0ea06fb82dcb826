// The timetable alone: no threads, no clock but the numbers passed in.
#include "engine/timetable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace cronkit::engine {
namespace {

Millis at(const std::string& iso) {
  auto t = cron::parse_time(iso, *cron::Zone::utc());
  EXPECT_TRUE(t.has_value()) << iso;
  return t->time_since_epoch().count() * 1000;
}

cron::CronExpr pattern(const std::string& text) {
  auto e = cron::CronExpr::parse(text);
  EXPECT_TRUE(e.has_value()) << text;
  return *e;
}

const cron::Zone* zone(const std::string& name) {
  return cron::Zone::find(name)->get();
}

struct Taken {
  std::string task_id;
  Millis at;
  bool missed;
  std::optional<Millis> latest_missed;
  bool operator==(const Taken&) const = default;
};

// Takes what is due until `until`, claiming all of it (or none).
std::vector<Taken> take(Timetable& t, Millis until, Millis now, bool claim = true) {
  std::vector<Taken> out;
  t.take_due(until, now, 60000, [&](const Timetable::Due& d) {
    out.push_back({d.task_id, d.at, d.missed, d.latest_missed});
    return claim;
  });
  return out;
}

// Back-pressure: beyond the limit, firings stay on the heap, in order, and come out late
// (or missed, once later than the grace) at a later call.
TEST(Timetable, LeavesWhatIsBeyondTheLimitForLaterInOrder) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:00Z");
  for (const char* id : {"a", "b", "c"})
    t.set(id, pattern("* * * * * *"), zone("UTC"), false, now);
  std::vector<Taken> out;
  auto take_some = [&](Millis until, Millis when, std::size_t limit, bool claim = true) {
    out.clear();
    t.take_due(
        until, when, 60000,
        [&](const Timetable::Due& d) {
          out.push_back({d.task_id, d.at, d.missed, d.latest_missed});
          return claim;
        },
        limit);
    return out;
  };
  // Firings not claimed here (another server's) do not count against the limit.
  EXPECT_EQ(take_some(now + 1000, now + 1000, 1, false).size(), 3u);
  auto first = take_some(now + 2000, now + 2000, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].at, now + 2000);
  EXPECT_EQ(t.earliest(), now + 2000) << "the third waits";
  const std::string waiting = first[0].task_id == "a" || first[1].task_id == "a"
                                  ? (first[0].task_id == "b" || first[1].task_id == "b" ? "c" : "b")
                                  : "a";
  // Later, the one left comes first, late, and then the next second's.
  auto later = take_some(now + 3000, now + 3500, 2);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0], (Taken{waiting, now + 2000, false, {}}));
  EXPECT_EQ(later[1].at, now + 3000);
  // Behind by more than the grace: missed ones come out whatever the limit, each once.
  auto missed = take_some(now + 70000, now + 70000, 0);
  ASSERT_EQ(missed.size(), 3u);
  for (const auto& m : missed)
    EXPECT_TRUE(m.missed) << m.task_id;
  EXPECT_EQ(t.earliest(), now + 71000);
}

TEST(Timetable, HandsOutInstantsInOrderAndComputesNextRunsFromThem) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:00Z");
  t.set("a", pattern("*/10 * * * * *"), zone("UTC"), false, now);
  t.set("b", pattern("5 * * * * *"), zone("UTC"), false, now);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.earliest(), now + 5000);
  EXPECT_EQ(t.next_run("a"), now + 10000);

  // Woken 3 s late: nothing is skipped and nothing drifts.
  auto due = take(t, now + 23000, now + 23000);
  EXPECT_EQ(due, (std::vector<Taken>{{"b", now + 5000, false, {}},
                                     {"a", now + 10000, false, {}},
                                     {"a", now + 20000, false, {}}}));
  EXPECT_EQ(t.next_run("a"), now + 30000);
  EXPECT_EQ(t.next_run("b"), now + 65000);
}

TEST(Timetable, AFiringClaimedAheadIsTheNextRunUntilReleased) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:59Z") + 300;
  t.set("a", pattern("0 * * * * *"), zone("UTC"), false, now);
  const auto v = t.version();
  auto due = take(t, now + 800, now);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_NE(t.version(), v);
  EXPECT_EQ(t.next_run("a"), at("2026-03-07T12:01:00Z")) << "held";
  t.release("a", at("2026-03-07T12:01:00Z"));
  EXPECT_EQ(t.next_run("a"), at("2026-03-07T12:02:00Z"));

  // Not claimed here (another member owns it): not held.
  take(t, at("2026-03-07T12:02:00Z"), at("2026-03-07T12:01:59Z") + 500, false);
  EXPECT_EQ(t.next_run("a"), at("2026-03-07T12:03:00Z"));
}

TEST(Timetable, AMissedInstantIsReportedOnceWithTheLatestForCatchUpTasks) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:00Z");
  t.set("plain", pattern("0 * * * * *"), zone("UTC"), false, now);
  t.set("eager", pattern("0 * * * * *"), zone("UTC"), true, now);
  const Millis later = now + 3600 * 1000 + 30000;  // an hour and a half minute later
  auto due = take(t, later, later);
  ASSERT_EQ(due.size(), 2u) << "one each, not sixty";
  for (const auto& d : due) {
    EXPECT_TRUE(d.missed);
    EXPECT_EQ(d.at, at("2026-03-07T12:01:00Z"));
    EXPECT_EQ(d.latest_missed,
              d.task_id == "eager" ? std::optional{at("2026-03-07T13:00:00Z")} : std::nullopt);
  }
  EXPECT_EQ(t.next_run("plain"), at("2026-03-07T13:01:00Z"));
}

TEST(Timetable, ARescheduledFiringRunsOnlyIfTheNewScheduleStillFiresThen) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:59Z") + 300;
  t.set("a", pattern("0 * * * * *"), zone("UTC"), false, now);
  std::uint64_t claimed_from = 0;
  t.take_due(now + 800, now, 60000, [&](const Timetable::Due& d) {
    claimed_from = d.generation;
    return true;
  });
  ASSERT_NE(claimed_from, 0u);
  const Millis instant = at("2026-03-07T12:01:00Z");
  EXPECT_EQ(t.standing("a", claimed_from, instant), Timetable::Standing::unchanged);
  t.set("a", pattern("0 */1 * * * *"), zone("UTC"), false, now);
  EXPECT_EQ(t.standing("a", claimed_from, instant), Timetable::Standing::changed);
  t.set("a", pattern("30 * * * * *"), zone("UTC"), false, now);
  EXPECT_EQ(t.standing("a", claimed_from, instant), Timetable::Standing::gone);
  t.remove("a");
  EXPECT_EQ(t.standing("a", claimed_from, instant), Timetable::Standing::gone);
}

TEST(Timetable, ARemovedTaskNeverFiresAndItsSlotIsReused) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:00Z");
  t.set("a", pattern("* * * * * *"), zone("UTC"), false, now);
  EXPECT_TRUE(t.remove("a"));
  EXPECT_FALSE(t.remove("a"));
  EXPECT_FALSE(t.next_run("a"));
  EXPECT_TRUE(take(t, now + 10000, now + 10000).empty()) << "its heap entries are stale";
  t.set("b", pattern("* * * * * *"), zone("UTC"), false, now);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(take(t, now + 2000, now + 2000).size(), 2u);
}

TEST(Timetable, LoadsSchedulesAndOwesCatchUpsOnlyAfterCreation) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:30Z");
  std::vector<ScheduleSpec> specs{
      {"old", "0 * * * * *", "UTC", true, at("2026-03-07T11:00:00Z")},
      {"new", "0 * * * * *", "UTC", true, at("2026-03-07T12:00:10Z")},
      {"plain", "0 * * * * *", "UTC", false, at("2026-03-07T11:00:00Z")},
      {"bad", "61 * * * * *", "UTC", false, 0},
      {"nowhere", "0 * * * * *", "Mars/Olympus", false, 0},
      {"tokyo", "0 0 9 * * *", "Asia/Tokyo", false, 0},
  };
  auto owed = t.load(specs, now);
  ASSERT_EQ(owed.size(), 1u);
  EXPECT_EQ(owed[0].task_id, "old");
  EXPECT_EQ(owed[0].scheduled_for, at("2026-03-07T12:00:00Z"));
  EXPECT_EQ(owed[0].trigger, Trigger::catch_up);
  EXPECT_EQ(t.size(), 4u) << "what cannot be parsed is left out";
  EXPECT_EQ(t.next_run("tokyo"), at("2026-03-08T00:00:00Z"));
  auto ids = t.task_ids();
  std::ranges::sort(ids);
  EXPECT_EQ(ids, (std::vector<std::string>{"new", "old", "plain", "tokyo"}));
}

TEST(Timetable, FiresOnlyWithinItsWindow) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:00Z");
  // Every 10 s from 12:00:25 (the first instant at or after it: 12:00:30) to 12:01:00.
  t.set("w", pattern("*/10 * * * * *"), zone("UTC"), false, now,
        {.start = now + 25000, .end = now + 60000});
  EXPECT_EQ(t.next_run("w"), now + 30000);
  auto due = take(t, now + 120000, now + 60000);
  EXPECT_EQ(due, (std::vector<Taken>{{"w", now + 30000, false, {}},
                                     {"w", now + 40000, false, {}},
                                     {"w", now + 50000, false, {}},
                                     {"w", now + 60000, false, {}}}));
  EXPECT_FALSE(t.next_run("w")) << "nothing after the end";
  EXPECT_FALSE(t.earliest());

  // A start on an instant fires at it; a window already over fires never.
  t.set("exact", pattern("*/10 * * * * *"), zone("UTC"), false, now, {.start = now + 20000});
  EXPECT_EQ(t.next_run("exact"), now + 20000);
  t.set("over", pattern("* * * * * *"), zone("UTC"), false, now, {.end = now - 1});
  EXPECT_FALSE(t.next_run("over"));
}

TEST(Timetable, CatchUpIsTheLatestInstantWithinTheWindow) {
  Timetable t;
  const Millis created = at("2026-03-07T00:00:00Z");
  const Millis now = at("2026-03-07T12:00:00Z");
  // Hourly, ended at 09:30: the missed instant owed is 09:00, not 12:00.
  auto owed = t.load({{.id = "ended",
                       .cron_expression = "0 0 * * * *",
                       .timezone = "UTC",
                       .catch_up = true,
                       .created_at = created,
                       .end_at = at("2026-03-07T09:30:00Z")},
                      {.id = "later",
                       .cron_expression = "0 0 * * * *",
                       .timezone = "UTC",
                       .catch_up = true,
                       .created_at = created,
                       .start_at = at("2026-03-07T13:00:00Z")}},
                     now);
  ASSERT_EQ(owed.size(), 1u) << "nothing is owed before a window starts";
  EXPECT_EQ(owed[0].task_id, "ended");
  EXPECT_EQ(owed[0].scheduled_for, at("2026-03-07T09:00:00Z"));
  EXPECT_FALSE(t.next_run("ended"));
  EXPECT_EQ(t.next_run("later"), at("2026-03-07T13:00:00Z"));
}

TEST(Timetable, AHeldFiringOutsideTheNewWindowIsGone) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:00Z");
  t.set("a", pattern("* * * * * *"), zone("UTC"), false, now);
  auto due = take(t, now + 1000, now);
  ASSERT_EQ(due.size(), 1u);
  const std::uint64_t generation = 1;
  t.set("a", pattern("* * * * * *"), zone("UTC"), false, now, {.start = now + 5000});
  EXPECT_EQ(t.standing("a", generation, now + 1000), Timetable::Standing::gone);
  EXPECT_EQ(t.standing("a", generation, now + 6000), Timetable::Standing::changed);
}

TEST(Timetable, JitterDelaysEachStartByAPureFunctionOfTaskAndInstant) {
  const Millis now = at("2026-03-07T12:00:00Z");
  // Two timetables (two servers, or a restart) agree on every start.
  Timetable one, two;
  one.set("a", pattern("0 * * * * *"), zone("UTC"), false, now, {.jitter_seconds = 30});
  two.set("a", pattern("0 * * * * *"), zone("UTC"), false, now + 7000, {.jitter_seconds = 30});
  ASSERT_TRUE(one.next_run("a"));
  EXPECT_EQ(one.next_run("a"), two.next_run("a"));
  const Millis instant = at("2026-03-07T12:01:00Z");
  const Millis start = *one.next_run("a");
  EXPECT_GE(start, instant);
  EXPECT_LT(start, instant + 30000);
  EXPECT_EQ(start, instant + jitter_delay("a", instant, 30000));
  EXPECT_EQ(one.starts_at("a", instant), start);
  EXPECT_EQ(one.starts_at("unknown", instant), instant) << "a task not scheduled: no delay";

  // Nothing is taken before its start; taken then, with its instant.
  if (start > instant) {
    EXPECT_TRUE(take(one, instant, instant).empty());
    EXPECT_EQ(one.earliest(), start);
  }
  std::vector<Millis> starts;
  one.take_due(start, start, 60000, [&](const Timetable::Due& d) {
    EXPECT_EQ(d.at, instant);
    starts.push_back(d.starts_at);
    return true;
  });
  EXPECT_EQ(starts, std::vector<Millis>{start});

  // Another task, or another instant, is delayed differently; delays cover the range.
  std::vector<Millis> delays;
  for (int i = 0; i < 2000; ++i)
    delays.push_back(jitter_delay("task-" + std::to_string(i), instant, 60000));
  const auto [lo, hi] = std::ranges::minmax(delays);
  EXPECT_GE(lo, 0);
  EXPECT_LT(hi, 60000);
  EXPECT_LT(lo, 1000) << "spread over the whole minute";
  EXPECT_GT(hi, 59000);
  int first_half = 0;
  for (Millis d : delays)
    first_half += d < 30000;
  EXPECT_GT(first_half, 850);
  EXPECT_LT(first_half, 1150);
  EXPECT_EQ(jitter_delay("x", instant, 0), 0);
}

TEST(Timetable, JitterNeverStartsAFiringAfterTheTasksFollowingInstant) {
  Timetable t;
  const Millis now = at("2026-03-07T12:00:00Z");
  // Every 2 s with up to an hour of jitter: each start stays before the next instant, so
  // the task's firings start in order.
  t.set("fast", pattern("*/2 * * * * *"), zone("UTC"), false, now, {.jitter_seconds = 3600});
  std::vector<std::pair<Millis, Millis>> taken;  // instant, start
  for (Millis until = now; until < now + 62000; until += 500) {
    t.take_due(until, until, 60000, [&](const Timetable::Due& d) {
      taken.emplace_back(d.at, d.starts_at);
      return false;
    });
  }
  ASSERT_GE(taken.size(), 30u) << "the 30th, at 12:01:00, starts before 12:01:02";
  for (std::size_t i = 0; i < taken.size(); ++i) {
    EXPECT_EQ(taken[i].first, now + 2000 * static_cast<Millis>(i + 1));
    EXPECT_GE(taken[i].second, taken[i].first);
    EXPECT_LT(taken[i].second, taken[i].first + 2000);
  }
  // The last instant of a window may use the whole jitter.
  t.set("last", pattern("0 * * * * *"), zone("UTC"), false, now,
        {.end = at("2026-03-07T12:01:00Z"), .jitter_seconds = 3600});
  EXPECT_EQ(t.next_run("last"),
            at("2026-03-07T12:01:00Z") + jitter_delay("last", at("2026-03-07T12:01:00Z"), 3600000));
}

}  // namespace
}  // namespace cronkit::engine
