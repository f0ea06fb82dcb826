// What the parser accepts and rejects, and what it says when it rejects.
#include <gmock/gmock.h>

#include "helpers.h"

namespace cronkit::cron::testing {
namespace {

using ::testing::HasSubstr;

ParseError error_of(const std::string& pattern) {
  auto e = CronExpr::parse(pattern);
  EXPECT_FALSE(e.has_value()) << pattern << " parsed as " << (e ? e->canonical() : "");
  return e ? ParseError{} : e.error();
}

void expect_valid(std::initializer_list<const char*> patterns) {
  for (const char* p : patterns) {
    auto e = CronExpr::parse(p);
    EXPECT_TRUE(e.has_value()) << "'" << p << "': " << (e ? "" : e.error().describe());
  }
}

void expect_invalid(std::initializer_list<const char*> patterns) {
  for (const char* p : patterns) {
    EXPECT_FALSE(CronExpr::parse(p).has_value()) << "'" << p << "' should be rejected";
  }
}

TEST(Parse, FieldCounts) {
  expect_valid({"* * * * *", "* * * * * *", "* * * * * * *"});
  expect_invalid({"", "   ", "* * * *", "* * * * * * * *"});
  auto e = error_of("* * * *");
  EXPECT_EQ(e.field, "pattern");
  EXPECT_THAT(e.message, HasSubstr("found 4"));
}

TEST(Parse, WhitespaceAsJavaScriptSeesIt) {
  expect_valid({"  */5   *\t* * *  ", "0\n0 * * *", "0\u00a00 * * *", "0\u30000 * * *",
                "0\ufeff0 * * *", "0\u20280 * * *"});
  // U+0085 is not whitespace to JavaScript, so it is an illegal character.
  expect_invalid({"0\u00850 * * *"});
}

TEST(Parse, WildcardsAndQuestionMark) {
  expect_valid({"? ? ? ? ?", "* * ? * ?", "*/5 ? * * ?"});
  EXPECT_EQ(expr("0 0 ? * ?").canonical(), expr("0 0 * * *").canonical());
}

TEST(Parse, ListsRangesAndSteps) {
  expect_valid({"1,2,3 * * * *", "1-5 * * * *", "*/15 * * * *", "10-50/20 * * * *",
                "0-59/60 * * * *", "*/60 * * * *", "*,5 * * * *", "00005 * * * *"});
  expect_invalid({"1,,2 * * * *", "1, * * * *", ",1 * * * *", "5-1 * * * *", "1-2-3 * * * *",
                  "*/0 * * * *", "*/61 * * * *", "1-5/0 * * * *", "1-5/61 * * * *", "-5 * * * *",
                  "5- * * * *", "*-5 * * * *", "1-5/ * * * *", "1-/5 * * * *"});
}

TEST(Parse, SloppyStepsAreRejectedLikeCroner) {
  auto missing = error_of("/10 * * * *");
  EXPECT_EQ(missing.field, "minute");
  EXPECT_THAT(missing.message, HasSubstr("*/n"));
  auto numeric = error_of("5/5 * * * *");
  EXPECT_THAT(numeric.message, HasSubstr("single value"));
  expect_invalid({"5/* * * * *", "*/5/5 * * * *"});
}

TEST(Parse, StepLoopsStopAtTheirRangeEnd) {
  // croner checks only the values a stepped range produces: 0, 40 are in range.
  expect_valid({"0-65/40 * * * * *"});
  expect_invalid({"0-65/30 * * * * *"});  // 0, 30, 60
}

TEST(Parse, RangesOfEveryField) {
  expect_valid({"59 59 23 31 12 7 9999", "0 0 0 1 1 0 1"});
  struct Case {
    const char* pattern;
    const char* field;
    const char* message;
  };
  for (auto c : std::initializer_list<Case>{
           {"60 * * * * *", "second", "60 is out of range 0-59"},
           {"* 60 * * * *", "minute", "60 is out of range 0-59"},
           {"* * 24 * * *", "hour", "24 is out of range 0-23"},
           {"* * * 32 * *", "day-of-month", "32 is out of range 1-31"},
           {"* * * 0 * *", "day-of-month", "0 is out of range 1-31"},
           {"* * * * 13 *", "month", "13 is out of range 1-12"},
           {"* * * * 0 *", "month", "0 is out of range 1-12"},
           {"* * * * * 8", "day-of-week", "8 is out of range 0-7"},
           {"* * * * * * 0", "year", "0 is out of range 1-9999"},
           {"* * * * * * 10000", "year", "10000 is out of range 1-9999"},
       }) {
    auto e = error_of(c.pattern);
    EXPECT_EQ(e.field, c.field) << c.pattern;
    EXPECT_EQ(e.message, c.message) << c.pattern;
  }
}

TEST(Parse, ErrorNamesFieldAndColumn) {
  auto e = error_of("0 0 25 * * *");
  EXPECT_EQ(e.describe(), "hour: 25 is out of range 0-23");
  EXPECT_EQ(e.column, 5);
  auto in_list = error_of("0 0 1,2,99 * * *");
  EXPECT_EQ(in_list.field, "hour");
  EXPECT_EQ(in_list.column, 9);
  auto five = error_of("*/5 * * 13 *");
  EXPECT_EQ(five.field, "month");
  EXPECT_EQ(five.column, 9);
  auto huge = error_of("0-99999999999999999999 * * * *");
  EXPECT_EQ(huge.field, "minute");
  EXPECT_THAT(huge.message, HasSubstr("out of range 0-59"));
}

TEST(Parse, IllegalCharacters) {
  auto e = error_of("* * * * * MON$");
  EXPECT_EQ(e.field, "day-of-week");
  expect_invalid({"1.5 * * * *", "a * * * *", "* * * * * 1W", "* * * 1# * *", "+1 * * * *",
                  "* * * * * ++1", "* * * * * +", "\xff * * * *", "1:2 * * * *"});
}

TEST(Parse, MonthAndWeekdayNames) {
  expect_valid({"0 0 1 JAN *", "0 0 1 jan-Mar *", "0 0 1 DEC,jan *", "0 0 * * MON-FRI",
                "0 0 * * sun,SAT", "0 0 * * MON-SUN", "0 0 * * SAT-SUN", "0 0 * * FRI-SUN",
                "0 0 * * MONL", "0 0 * * MON#2", "0 0 * * +MON", "0 0 1 JAN-DEC/2 *"});
  EXPECT_EQ(expr("0 0 * * MON-SUN").canonical(), "0 0 0 * * 0-6");
  expect_invalid({"0 0 1 JANUARY *", "0 0 * * MONDAY", "0 0 * * 1MON", "0 0 * * */MON",
                  "0 0 * * #MON", "0 0 * * MON2", "0 0 1 FOO *", "0 0 * * SUNMON"});
  auto e = error_of("0 0 1 JANUARY *");
  EXPECT_EQ(e.field, "month");
  EXPECT_THAT(e.message, HasSubstr("stand alone"));
}

TEST(Parse, WeekdaySevenIsSunday) {
  EXPECT_EQ(expr("0 0 * * 7").canonical(), expr("0 0 * * 0").canonical());
  EXPECT_EQ(expr("0 0 * * 5-7").canonical(), "0 0 0 * * 0,5,6");
  expect_invalid({"0 0 * * 8", "0 0 * * */8"});
}

TEST(Parse, LastDayAndNearestWeekday) {
  expect_valid({"0 0 L * *", "0 0 l * *", "0 0 LW * *", "0 0 lw * *", "0 0 15W * *",
                "0 0 1W,15W * *", "0 0 5,L * *", "0 0 L,L * *", "0 0 L,15W * *", "0 0 31W * *"});
  expect_invalid({"0 0 LW,5 * *", "0 0 L-5 * *", "0 0 5L * *", "0 0 L, * *", "0 0 W * *",
                  "0 0 1-5W * *", "0 0 */5W * *", "0 0 5WW * *", "0 0 W5 * *", "0 0 0W * *",
                  "0 0 32W * *", "0 0 * L *", "0 0 * * * L"});
  auto w = error_of("0 0 1 5W *");
  EXPECT_EQ(w.field, "month");
}

TEST(Parse, NthAndLastWeekday) {
  expect_valid({"0 0 * * 5#1", "0 0 * * 5#5", "0 0 * * 5#L", "0 0 * * 5#l", "0 0 * * 5L",
                "0 0 * * 5l", "0 0 * * 1-5#2", "0 0 * * */2#3", "0 0 * * 1-5L", "0 0 * * 7#1",
                "0 0 * * 5#05", "0 0 * * 1#1,1#3"});
  expect_invalid({"0 0 * * 5#0", "0 0 * * 5#6", "0 0 * * 5#", "0 0 * * #2", "0 0 * * 5#2#3",
                  "0 0 * * L", "0 0 * * *L", "0 0 * * 5#LL", "0 0 * * 5L#2", "0 0 * * 1#-1"});
  auto e = error_of("0 0 * * 5#6");
  EXPECT_EQ(e.field, "day-of-week");
  EXPECT_THAT(e.message, HasSubstr("1-5 or L"));
}

TEST(Parse, Nicknames) {
  struct Case {
    const char* nickname;
    const char* same_as;
  };
  for (auto c : std::initializer_list<Case>{{"@yearly", "0 0 1 1 *"},
                                            {"@annually", "0 0 1 1 *"},
                                            {"@monthly", "0 0 1 * *"},
                                            {"@weekly", "0 0 * * 0"},
                                            {"@daily", "0 0 * * *"},
                                            {"@midnight", "0 0 * * *"},
                                            {"@hourly", "0 * * * *"},
                                            {"  @DAILY  ", "0 0 * * *"},
                                            {"@wee\u212aly", "0 0 * * 0"}}) {
    EXPECT_EQ(expr(c.nickname).canonical(), expr(c.same_as).canonical()) << c.nickname;
  }
  expect_invalid({"@bogus", "@daily x", "x@daily", "@", "@ daily"});
}

TEST(Parse, RebootIsRejectedWithAReason) {
  for (const char* p : {"@reboot", "@REBOOT", " @reboot "}) {
    auto e = error_of(p);
    EXPECT_EQ(e.field, "pattern");
    EXPECT_THAT(e.message, HasSubstr("@reboot is not supported"));
  }
}

TEST(Parse, DayOfWeekPlusMeansAnd) {
  expect_valid({"0 0 1-7 * +MON", "0 0 * * +*"});
  EXPECT_FALSE(CronExpr::parse("0 0 * * +").has_value());
}

TEST(Parse, YearField) {
  expect_valid({"0 0 0 1 1 * 2030", "0 0 0 1 1 * 2030-2040", "0 0 0 1 1 * */4",
                "0 0 0 1 1 * 2024-2100/4", "0 0 0 1 1 * 9999", "0 0 0 1 1 * */10000"});
  expect_invalid({"0 0 0 1 1 * 0", "0 0 0 1 1 * 10000", "0 0 0 1 1 * */10001", "0 0 0 1 1 * JAN"});
}

TEST(Parse, FixedTime) {
  EXPECT_TRUE(expr("0 30 2 * * *").fixed_time());
  EXPECT_TRUE(expr("30 2 * * *").fixed_time());
  EXPECT_TRUE(expr("0 30-30 2 * * *").fixed_time());
  EXPECT_FALSE(expr("0 */30 2 * * *").fixed_time());
  EXPECT_FALSE(expr("0 0,30 2 * * *").fixed_time());
  EXPECT_FALSE(expr("* 30 2 * * *").fixed_time());
  EXPECT_FALSE(expr("*/60 30 2 * * *").fixed_time());  // one value, but from a step
  EXPECT_FALSE(expr("0 30 ? * * *").fixed_time());
}

TEST(Parse, ImpossiblePatternsParseButNeverFire) {
  for (const char* p : {"0 0 30 2 *", "0 0 31 4 *", "0 0 0 29 2 * 2023", "0 0 0 1 1 * */10000",
                        "0 0 0 29 2 * 2001-2097/4"}) {
    EXPECT_FALSE(expr(p).can_fire()) << p;
  }
  for (const char* p : {"0 0 29 2 *", "0 0 31 * *", "0 0 29 2 +MON", "0 0 0 29 2 * 2024"}) {
    EXPECT_TRUE(expr(p).can_fire()) << p;
  }
}

}  // namespace
}  // namespace cronkit::cron::testing
