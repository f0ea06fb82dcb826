// The canonical form parses back to an expression that fires at the same instants.
#include "helpers.h"

namespace cronkit::cron::testing {
namespace {

TEST(Canonical, Examples) {
  EXPECT_EQ(expr("* * * * *").canonical(), "0 * * * * *");
  EXPECT_EQ(expr("*/15 9-17 * * mon-fri").canonical(), "0 */15 9-17 * * 1-5");
  EXPECT_EQ(expr("0 0 L,15W * 5L").canonical(), "0 0 0 15W,L * 5L");
  EXPECT_EQ(expr("0 0 * * 5#2,1#L").canonical(), "0 0 0 * * 1L,5#2");
  EXPECT_EQ(expr("0 0 0 1 1 * 2030-2040").canonical(), "0 0 0 1 1 * 2030-2040");
  EXPECT_EQ(expr("@weekly").canonical(), "0 0 0 * * 0");
  EXPECT_EQ(expr("0 0 LW * *").canonical(), "0 0 0 LW * *");
  EXPECT_EQ(expr("0 0 13 * +FRI").canonical(), "0 0 0 13 * +5");
  EXPECT_EQ(expr("1,2,3,7 * * * * *").canonical(), "1-3,7 * * * * *");
  EXPECT_EQ(expr("*/60 30 2 * * *").canonical(), "0-0/1 30 2 * * *");
}

TEST(Canonical, RoundTrips) {
  const char* patterns[] = {
      "* * * * *",
      "*/7 * * * * *",
      "0 30 2 * * *",
      "*/60 30 2 * * *",
      "0 0,30 1 * * *",
      "0 0 L * *",
      "0 0 LW * *",
      "0 0 1W,L * *",
      "0 0 1-31 * MON",
      "0 0 * * 0-6",
      "0 0 13 * +FRI",
      "0 0 * * +*",
      "0 0 * * 1#1,1#2,1#3,1#4,1#5",
      "0 0 * * 5L,5#1",
      "0 0 0 29 2 * 2024-2100/4",
      "0 0 0 1 1 * *,2020",
      "0 0 0 1 1 * */10000",
      "10-50/20 1-5,8 */3 */10 */2 *",
      "0 0 0 * * * 2030",
      "@hourly",
      "59 59 23 L 12 5#L 9999",
  };
  const char* zones[] = {"UTC", "America/New_York", "Australia/Lord_Howe"};
  for (const char* p : patterns) {
    auto original = expr(p);
    auto again = CronExpr::parse(original.canonical());
    ASSERT_TRUE(again.has_value())
        << p << " -> " << original.canonical() << ": " << again.error().describe();
    EXPECT_EQ(again->canonical(), original.canonical()) << p;
    EXPECT_EQ(again->fixed_time(), original.fixed_time()) << p;
    EXPECT_EQ(again->can_fire(), original.can_fire()) << p;
    EXPECT_TRUE(*again == original) << p << " -> " << original.canonical();
    for (const char* z : zones) {
      for (const char* from :
           {"2026-03-07T00:00:00Z", "2026-10-31T12:00:00Z", "2999-12-30T00:00:00Z"}) {
        EXPECT_EQ(original.next_n(at(from), zone(z), 20), again->next_n(at(from), zone(z), 20))
            << p << " in " << z << " from " << from;
      }
    }
  }
}

}  // namespace
}  // namespace cronkit::cron::testing
