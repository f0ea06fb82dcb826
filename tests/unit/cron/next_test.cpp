// Firing instants in UTC: every syntax element, calendars, bounds, and prev_before.
#include <random>

#include "helpers.h"

namespace cronkit::cron::testing {
namespace {

TEST(Next, StrictlyAfterTheStart) {
  EXPECT_EQ(next("* * * * * *", "2026-01-01T00:00:00Z", 2),
            v({"2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z"}));
  EXPECT_EQ(next("0 * * * * *", "2026-01-01T00:00:00Z"), v({"2026-01-01T00:01:00Z"}));
  // A fraction of a second later is still the same second.
  EXPECT_EQ(next("* * * * * *", "2026-01-01T00:00:00.999Z"), v({"2026-01-01T00:00:01Z"}));
}

TEST(Next, FiveFieldsMeanSecondZero) {
  EXPECT_EQ(next("*/20 * * * *", "2026-05-05T10:05:30Z", 3),
            v({"2026-05-05T10:20:00Z", "2026-05-05T10:40:00Z", "2026-05-05T11:00:00Z"}));
}

TEST(Next, ListsRangesSteps) {
  EXPECT_EQ(next("0 5,10 9-10 * * *", "2026-01-01T00:00:00Z", 4),
            v({"2026-01-01T09:05:00Z", "2026-01-01T09:10:00Z", "2026-01-01T10:05:00Z",
               "2026-01-01T10:10:00Z"}));
  EXPECT_EQ(next("10-50/20 * * * * *", "2026-01-01T00:00:00Z", 4),
            v({"2026-01-01T00:00:10Z", "2026-01-01T00:00:30Z", "2026-01-01T00:00:50Z",
               "2026-01-01T00:01:10Z"}));
  // Steps count from the start of the field: days 1, 11, 21, 31; months Jan, Apr, ...
  EXPECT_EQ(next("0 0 */10 * *", "2026-01-02T00:00:00Z", 3),
            v({"2026-01-11T00:00:00Z", "2026-01-21T00:00:00Z", "2026-01-31T00:00:00Z"}));
  EXPECT_EQ(next("0 0 1 */3 *", "2026-02-01T00:00:00Z", 2),
            v({"2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z"}));
}

TEST(Next, MonthAndWeekdayNames) {
  EXPECT_EQ(next("0 12 * * MON-FRI", "2026-11-27T13:00:00Z", 2),  // a Friday
            v({"2026-11-30T12:00:00Z", "2026-12-01T12:00:00Z"}));
  EXPECT_EQ(next("0 0 1 FEB,aug *", "2026-03-01T00:00:00Z", 2),
            v({"2026-08-01T00:00:00Z", "2027-02-01T00:00:00Z"}));
  EXPECT_EQ(next("0 0 * * FRI-SUN", "2026-11-26T00:00:00Z", 3),
            v({"2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z"}));
}

TEST(Next, DayOfMonthOrDayOfWeek) {
  // Both restricted: either matches (Vixie cron). The 13th, or any Friday.
  EXPECT_EQ(next("0 0 13 * FRI", "2026-11-01T00:00:00Z", 4),
            v({"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z",
               "2026-11-27T00:00:00Z"}));
  // '+' means both: a Friday the 13th.
  EXPECT_EQ(next("0 0 13 * +FRI", "2026-01-01T00:00:00Z", 2),
            v({"2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z"}));
  // A full range is not '*': "1-31" with a weekday still means OR.
  EXPECT_EQ(next("0 0 1-31 * MON", "2026-11-27T00:00:00Z"), v({"2026-11-28T00:00:00Z"}));
}

TEST(Next, LastDayOfMonth) {
  EXPECT_EQ(next("0 0 L * *", "2026-01-31T00:00:00Z", 4),
            v({"2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-04-30T00:00:00Z",
               "2026-05-31T00:00:00Z"}));
  EXPECT_EQ(next("0 0 L 2 *", "2027-03-01T00:00:00Z", 2),
            v({"2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"}));
  EXPECT_EQ(next("0 0 15,L * *", "2026-04-16T00:00:00Z", 2),
            v({"2026-04-30T00:00:00Z", "2026-05-15T00:00:00Z"}));
}

TEST(Next, NearestWeekday) {
  // 2026-02-01 is a Sunday: 1W is Monday the 2nd (never back into January).
  EXPECT_EQ(next("0 0 1W * *", "2026-01-05T00:00:00Z", 1), v({"2026-02-02T00:00:00Z"}));
  // 2026-08-01 is a Saturday: 1W moves forward to Monday the 3rd.
  EXPECT_EQ(next("0 0 1W 8 *", "2026-01-01T00:00:00Z"), v({"2026-08-03T00:00:00Z"}));
  // 2026-05-31 is a Sunday and the last day: 31W moves back to Friday the 29th.
  EXPECT_EQ(next("0 0 31W 5 *", "2026-01-01T00:00:00Z"), v({"2026-05-29T00:00:00Z"}));
  // 2026-11-14 is a Saturday: 14W is Friday the 13th.
  EXPECT_EQ(next("0 0 14W 11 *", "2026-01-01T00:00:00Z"), v({"2026-11-13T00:00:00Z"}));
  // 31W in a 30-day month does not fire.
  EXPECT_EQ(next("0 0 31W 4,5 *", "2026-01-01T00:00:00Z"), v({"2026-05-29T00:00:00Z"}));
}

TEST(Next, LastWeekdayOfMonth) {
  // 2026-05-31 is a Sunday, 2026-10-31 a Saturday.
  EXPECT_EQ(next("0 0 LW 5 *", "2026-01-01T00:00:00Z"), v({"2026-05-29T00:00:00Z"}));
  EXPECT_EQ(next("0 0 LW 10 *", "2026-01-01T00:00:00Z"), v({"2026-10-30T00:00:00Z"}));
  EXPECT_EQ(next("0 0 LW 12 *", "2026-01-01T00:00:00Z"), v({"2026-12-31T00:00:00Z"}));
}

TEST(Next, NthWeekday) {
  // Thanksgiving: fourth Thursday of November.
  EXPECT_EQ(next("0 0 * 11 4#4", "2026-01-01T00:00:00Z", 2),
            v({"2026-11-26T00:00:00Z", "2027-11-25T00:00:00Z"}));
  // A fifth Monday exists only in some months.
  EXPECT_EQ(next("0 0 * * MON#5", "2026-01-01T00:00:00Z", 3),
            v({"2026-03-30T00:00:00Z", "2026-06-29T00:00:00Z", "2026-08-31T00:00:00Z"}));
  EXPECT_EQ(next("0 0 * * 1#1,1#3", "2026-11-01T00:00:00Z", 2),
            v({"2026-11-02T00:00:00Z", "2026-11-16T00:00:00Z"}));
}

TEST(Next, LastWeekdayOfKind) {
  EXPECT_EQ(next("0 0 * * 5L", "2026-01-01T00:00:00Z", 3),
            v({"2026-01-30T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-27T00:00:00Z"}));
  EXPECT_EQ(next("0 0 * * FRI#L", "2026-01-01T00:00:00Z"), v({"2026-01-30T00:00:00Z"}));
}

TEST(Next, LeapYears) {
  EXPECT_EQ(next("0 0 0 29 2 *", "2026-01-01T00:00:00Z", 3),
            v({"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"}));
  // 2100 is not a leap year; 2400 is.
  EXPECT_EQ(next("0 0 0 29 2 *", "2096-03-01T00:00:00Z"), v({"2104-02-29T00:00:00Z"}));
  EXPECT_EQ(next("0 0 0 29 2 *", "2396-03-01T00:00:00Z"), v({"2400-02-29T00:00:00Z"}));
  // Feb 29 on a Monday, both required.
  EXPECT_EQ(next("0 0 29 2 +MON", "2026-01-01T00:00:00Z"), v({"2044-02-29T00:00:00Z"}));
}

TEST(Next, MonthEnds) {
  EXPECT_EQ(next("0 0 31 * *", "2026-01-31T00:00:00Z", 3),
            v({"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"}));
  EXPECT_EQ(next("59 59 23 L * *", "2026-12-31T23:59:58Z", 2),
            v({"2026-12-31T23:59:59Z", "2027-01-31T23:59:59Z"}));
  EXPECT_EQ(next("0 0 30 * *", "2026-01-30T00:00:00Z"), v({"2026-03-30T00:00:00Z"}));
}

TEST(Next, YearFieldBounds) {
  EXPECT_EQ(next("0 0 0 1 1 * 2030,2050", "2026-01-01T00:00:00Z", 3),
            v({"2030-01-01T00:00:00Z", "2050-01-01T00:00:00Z"}));
  EXPECT_EQ(next("0 0 0 1 1 * */4", "2026-01-01T00:00:00Z", 2),
            v({"2028-01-01T00:00:00Z", "2032-01-01T00:00:00Z"}));
  EXPECT_EQ(next("0 0 0 31 12 * 9999", "2026-01-01T00:00:00Z", 2), v({"9999-12-31T00:00:00Z"}));
  EXPECT_EQ(next("59 59 23 31 12 * 9999", "9999-12-31T23:59:58Z", 2), v({"9999-12-31T23:59:59Z"}));
  // With '*' for the year croner stops before 3000; a listed year goes on to 9999.
  EXPECT_EQ(next("* * * * * *", "2999-12-31T23:59:58Z", 3), v({"2999-12-31T23:59:59Z"}));
  EXPECT_EQ(next("0 0 0 1 1 * *,3000", "2999-12-31T23:59:58Z"), v({"3000-01-01T00:00:00Z"}));
  EXPECT_TRUE(next("0 0 0 1 1 *", "3000-01-01T00:00:00Z").empty());
}

TEST(Next, PatternsThatNeverFireAnswerAtOnce) {
  for (const char* p : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 0 29 2 * 2001-2097/4",
                        "0 0 0 1 1 * */10000", "0 0 0 31 2 * *,2024"}) {
    auto e = expr(p);
    EXPECT_FALSE(e.next_after(at("1970-01-01T00:00:00Z"), *Zone::utc())) << p;
    EXPECT_FALSE(e.prev_before(at("2500-01-01T00:00:00Z"), *Zone::utc())) << p;
  }
}

TEST(Prev, IsTheLastFiringBefore) {
  auto e = expr("0 30 9 * * MON-FRI");
  EXPECT_EQ(format_utc(*e.prev_before(at("2026-11-30T09:30:00Z"), *Zone::utc())),
            "2026-11-27T09:30:00Z");
  EXPECT_EQ(format_utc(*e.prev_before(at("2026-11-30T09:30:01Z"), *Zone::utc())),
            "2026-11-30T09:30:00Z");
  auto leap = expr("0 0 0 29 2 *");
  EXPECT_EQ(format_utc(*leap.prev_before(at("2026-01-01T00:00:00Z"), *Zone::utc())),
            "2024-02-29T00:00:00Z");
  EXPECT_FALSE(expr("0 0 0 1 1 * 2030").prev_before(at("2030-01-01T00:00:00Z"), *Zone::utc()));
}

// prev_before and next_after agree in every zone on random patterns and instants, and
// next_after never goes backwards as its argument grows.
TEST(Prev, AgreesWithNextEverywhere) {
  std::mt19937 rng{20261127};
  const char* patterns[] = {"*/7 * * * * *",  "0 30 1 * * *",   "0 */30 0-3 * * *", "0 0 L * *",
                            "0 15 2 * * SUN", "0 0,30 1 * * *", "0 0 12 29 2 +MON"};
  const char* zones[] = {"UTC", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia"};
  std::uniform_int_distribution<std::int64_t> when{1262304000, 1893456000};  // 2010-2030
  for (int i = 0; i < 300; ++i) {
    auto e = expr(patterns[i % std::size(patterns)]);
    const Zone& z = zone(zones[(i / 7) % std::size(zones)]);
    Instant t{std::chrono::seconds{when(rng)}};
    auto p = e.prev_before(t, z);
    ASSERT_TRUE(p) << e.canonical();
    EXPECT_LT(*p, t);
    auto n = e.next_after(*p, z);
    ASSERT_TRUE(n);
    EXPECT_GE(*n, t) << e.canonical() << " in " << z.name() << " before " << format_utc(t);
    EXPECT_EQ(*e.next_after(*p - std::chrono::seconds{1}, z), *p);
  }
}

TEST(Schedule, MatchesRepeatedNextAfter) {
  auto e = expr("*/13 */7 0-5 * * *");
  const Zone& ny = zone("America/New_York");
  Schedule s{e, *Zone::find("America/New_York")};
  Instant t = at("2026-03-07T00:00:00Z");
  Instant u = t;
  for (int i = 0; i < 2000; ++i) {
    auto a = s.next_after(t);
    auto b = e.next_after(u, ny);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(*a, *b);
    t = *a;
    u = *b;
  }
}

TEST(ParseTime, Forms) {
  EXPECT_EQ(format_utc(at("2026-03-08T07:00:00Z")), "2026-03-08T07:00:00Z");
  EXPECT_EQ(format_utc(at("2026-03-08T02:00:00-05:00")), "2026-03-08T07:00:00Z");
  EXPECT_EQ(format_utc(at("2026-03-08T12:45+0545")), "2026-03-08T07:00:00Z");
  EXPECT_EQ(format_utc(at("2026-03-08")), "2026-03-08T00:00:00Z");
  EXPECT_EQ(format_utc(at("2026-03-08T07:00:00.5Z")), "2026-03-08T07:00:00Z");
  const Zone& ny = zone("America/New_York");
  EXPECT_EQ(format_utc(*parse_time("2026-11-01T01:30:00", ny)), "2026-11-01T05:30:00Z");
  EXPECT_EQ(format_utc(*parse_time("2026-03-08T02:30:00", ny)), "2026-03-08T07:30:00Z");
  for (const char* bad :
       {"", "2026", "2026-13-01", "2026-02-30", "2026-01-01T24:00", "2026-01-01T00:00:00+25:00",
        "2026-01-01Tx", "0000-01-01", "2026-01-01T00:00:00Zjunk"}) {
    EXPECT_FALSE(parse_time(bad, *Zone::utc())) << bad;
  }
}

}  // namespace
}  // namespace cronkit::cron::testing
