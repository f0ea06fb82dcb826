// Firing across DST changes, checked against croner 11: every expected instant below is
// what croner answers for the same pattern, zone and start.
#include <cstdlib>

#include "helpers.h"

namespace cronkit::cron::testing {
namespace {

TEST(Dst, NewYorkSpringForward) {
  // 02:30 does not exist on 8 March 2026: a fixed time fires when the clock resumes,
  // at 03:00 EDT.
  EXPECT_EQ(next("0 30 2 * * *", "2026-03-07T12:00:00Z", 3, "America/New_York"),
            v({"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"}));
  // An interval pattern skips the times that do not exist: 02:00 and 02:30.
  EXPECT_EQ(next("0 */30 * * * *", "2026-03-08T06:00:00Z", 4, "America/New_York"),
            v({"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z",
               "2026-03-08T08:00:00Z"}));
}

TEST(Dst, NewYorkFallBack) {
  // 01:30 happens twice on 1 November 2026: a fixed time fires at the first pass.
  EXPECT_EQ(next("0 30 1 * * *", "2026-10-31T12:00:00Z", 2, "America/New_York"),
            v({"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}));
  // ...and not again in the second pass.
  EXPECT_EQ(next("0 30 1 * * *", "2026-11-01T06:10:00Z", 1, "America/New_York"),
            v({"2026-11-02T06:30:00Z"}));
  // An interval pattern fires in both passes: EDT 01:30, then EST 01:00 and 01:30.
  EXPECT_EQ(next("0 0,30 1 * * *", "2026-11-01T05:10:00Z", 5, "America/New_York"),
            v({"2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z",
               "2026-11-02T06:00:00Z", "2026-11-02T06:30:00Z"}));
  // Starting inside the first pass, after its last match: the second pass follows.
  EXPECT_EQ(next("0 */15 1 * * *", "2026-11-01T05:50:00Z", 4, "America/New_York"),
            v({"2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z", "2026-11-01T06:30:00Z",
               "2026-11-01T06:45:00Z"}));
}

TEST(Dst, London) {
  // 01:30 is skipped on 29 March 2026: fires at 02:00 BST (01:00Z).
  EXPECT_EQ(next("0 30 1 * * *", "2026-03-28T12:00:00Z", 2, "Europe/London"),
            v({"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}));
  // The hour 01:00-02:00 runs twice on 25 October 2026: BST, then GMT.
  EXPECT_EQ(next("0 */20 1 * * *", "2026-10-24T23:50:00Z", 7, "Europe/London"),
            v({"2026-10-25T00:00:00Z", "2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z",
               "2026-10-25T01:00:00Z", "2026-10-25T01:20:00Z", "2026-10-25T01:40:00Z",
               "2026-10-26T01:00:00Z"}));
}

TEST(Dst, LordHoweThirtyMinuteShift) {
  // The clock jumps from 02:00 to 02:30 on 4 October 2026 (+10:30 to +11).
  EXPECT_EQ(next("0 15 2 * * *", "2026-10-03T00:00:00Z", 2, "Australia/Lord_Howe"),
            v({"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}));
  // 01:30-02:00 runs twice on 5 April 2026 (+11 back to +10:30).
  EXPECT_EQ(next("0 */10 1 * * *", "2026-04-04T14:00:00Z", 10, "Australia/Lord_Howe"),
            v({"2026-04-04T14:10:00Z", "2026-04-04T14:20:00Z", "2026-04-04T14:30:00Z",
               "2026-04-04T14:40:00Z", "2026-04-04T14:50:00Z", "2026-04-04T15:00:00Z",
               "2026-04-04T15:10:00Z", "2026-04-04T15:20:00Z", "2026-04-05T14:30:00Z",
               "2026-04-05T14:40:00Z"}));
  // A fixed time in the repeated half hour fires once.
  EXPECT_EQ(next("0 45 1 * * *", "2026-04-04T14:00:00Z", 2, "Australia/Lord_Howe"),
            v({"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}));
}

TEST(Dst, KathmanduQuarterHourOffset) {
  // +05:45 all year.
  EXPECT_EQ(next("0 0 9 * * *", "2026-01-01T00:00:00Z", 2, "Asia/Kathmandu"),
            v({"2026-01-01T03:15:00Z", "2026-01-02T03:15:00Z"}));
  EXPECT_EQ(next("0 */30 * * * *", "2026-01-01T00:00:00Z", 2, "Asia/Kathmandu"),
            v({"2026-01-01T00:15:00Z", "2026-01-01T00:45:00Z"}));
}

TEST(Dst, ApiaSkippedADay) {
  // Samoa moved across the date line: 30 December 2011 never happened there.
  EXPECT_EQ(next("0 0 12 * * *", "2011-12-28T00:00:00Z", 4, "Pacific/Apia"),
            v({"2011-12-28T22:00:00Z", "2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z",
               "2011-12-31T22:00:00Z"}));
  // A fixed time on the missing day does not fire on the next day instead.
  EXPECT_EQ(next("0 0 0 30 12 *", "2011-01-01T00:00:00Z", 2, "Pacific/Apia"),
            v({"2012-12-29T10:00:00Z", "2013-12-29T10:00:00Z"}));
  // Hourly runs straight through the jump.
  EXPECT_EQ(next("0 0 * * * *", "2011-12-30T08:00:00Z", 4, "Pacific/Apia"),
            v({"2011-12-30T09:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T11:00:00Z",
               "2011-12-30T12:00:00Z"}));
}

TEST(Dst, SantiagoMidnightGap) {
  // Chile starts DST at midnight: on 6 September 2026 the day begins at 01:00.
  EXPECT_EQ(next("0 0 0 * * *", "2026-09-05T00:00:00Z", 3, "America/Santiago"),
            v({"2026-09-05T04:00:00Z", "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"}));
}

TEST(Dst, ResultsDoNotDependOnTheProcessZone) {
  // The engine reads zones only from tzdata; the test command runs this suite under
  // several TZ settings, and this checks the one it runs under against UTC's answer.
  const char* tz = std::getenv("TZ");
  SCOPED_TRACE(tz ? tz : "(TZ unset)");
  EXPECT_EQ(next("0 30 2 * * *", "2026-03-07T12:00:00Z", 1, "America/New_York"),
            v({"2026-03-08T07:00:00Z"}));
  EXPECT_EQ(next("0 0 9 * * *", "2026-03-08", 1), v({"2026-03-08T09:00:00Z"}));
}

}  // namespace
}  // namespace cronkit::cron::testing
