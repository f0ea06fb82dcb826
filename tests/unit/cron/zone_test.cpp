// Zone rules from TZif files and their POSIX footers.
#include <fstream>
#include <iterator>

#include "helpers.h"

namespace cronkit::cron::testing {
namespace {

std::int64_t t(const std::string& iso) {
  return at(iso).time_since_epoch().count();
}

TEST(Zone, UtcIsBuiltInAndFixed) {
  auto utc = Zone::utc();
  EXPECT_EQ(utc->name(), "UTC");
  EXPECT_TRUE(utc->fixed());
  EXPECT_EQ(utc->offset_at(0), 0);
  EXPECT_EQ(Zone::find("UTC")->get(), utc.get());
}

TEST(Zone, OffsetsAroundTransitions) {
  const Zone& ny = zone("America/New_York");
  EXPECT_FALSE(ny.fixed());
  EXPECT_EQ(ny.offset_at(t("2026-03-08T06:59:59Z")), -5 * 3600);
  EXPECT_EQ(ny.offset_at(t("2026-03-08T07:00:00Z")), -4 * 3600);
  EXPECT_EQ(ny.offset_at(t("2026-11-01T05:59:59Z")), -4 * 3600);
  EXPECT_EQ(ny.offset_at(t("2026-11-01T06:00:00Z")), -5 * 3600);
  auto span = ny.span_at(t("2026-07-01T00:00:00Z"));
  EXPECT_EQ(span.begin, t("2026-03-08T07:00:00Z"));
  EXPECT_EQ(span.end, t("2026-11-01T06:00:00Z"));
}

TEST(Zone, RulesContinuePastTheLastListedTransition) {
  // TZif files list transitions to 2037 at most; the footer rule carries on.
  const Zone& ny = zone("America/New_York");
  EXPECT_EQ(ny.offset_at(t("2100-07-01T00:00:00Z")), -4 * 3600);
  EXPECT_EQ(ny.offset_at(t("2100-12-01T00:00:00Z")), -5 * 3600);
  // Second Sunday of March 2300 is the 11th.
  EXPECT_EQ(ny.offset_at(t("2300-03-11T06:59:59Z")), -5 * 3600);
  EXPECT_EQ(ny.offset_at(t("2300-03-11T07:00:00Z")), -4 * 3600);
  // Southern hemisphere: DST spans the new year.
  const Zone& syd = zone("Australia/Sydney");
  EXPECT_EQ(syd.offset_at(t("2200-01-15T00:00:00Z")), 11 * 3600);
  EXPECT_EQ(syd.offset_at(t("2200-06-15T00:00:00Z")), 10 * 3600);
}

TEST(Zone, FixedOffsetZones) {
  const Zone& kathmandu = zone("Asia/Kathmandu");
  EXPECT_EQ(kathmandu.offset_at(t("2026-01-01T00:00:00Z")), 5 * 3600 + 45 * 60);
  const Zone& gmt5 = zone("Etc/GMT+5");
  EXPECT_TRUE(gmt5.fixed());
  EXPECT_EQ(gmt5.offset_at(0), -5 * 3600);
}

TEST(Zone, UnknownAndMalformedNames) {
  for (const char* bad :
       {"", "Nowhere/City", "../etc/passwd", "/usr/share/zoneinfo/UTC", "America//New_York",
        "America/../UTC", "America", ".hidden", "America/New York", "America/New_York\n"}) {
    EXPECT_FALSE(Zone::find(bad).has_value()) << bad;
  }
  auto e = Zone::find("Mars/Olympus_Mons");
  EXPECT_NE(e.error().find("unknown time zone 'Mars/Olympus_Mons'"), std::string::npos);
}

TEST(Zone, FindCachesZones) {
  auto a = Zone::find("Europe/Berlin");
  auto b = Zone::find("Europe/Berlin");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get());
}

TEST(Zone, RejectsBrokenTzif) {
  std::ifstream in{"/usr/share/zoneinfo/America/New_York", std::ios::binary};
  std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  ASSERT_GT(data.size(), 100u);
  EXPECT_TRUE(Zone::from_tzif("ny", data).has_value());
  EXPECT_FALSE(Zone::from_tzif("x", "").has_value());
  EXPECT_FALSE(Zone::from_tzif("x", "TZif").has_value());
  EXPECT_FALSE(
      Zone::from_tzif("x", "not a zone file at all, just some text...........").has_value());
  for (std::size_t cut : {std::size_t{44}, std::size_t{100}, data.size() / 2, data.size() - 5}) {
    EXPECT_FALSE(Zone::from_tzif("x", data.substr(0, cut)).has_value()) << cut;
  }
}

TEST(PosixRule, Forms) {
  auto us = PosixRule::parse("EST5EDT,M3.2.0,M11.1.0");
  ASSERT_TRUE(us);
  EXPECT_EQ(us->span_at(t("2030-07-01T00:00:00Z")).offset, -4 * 3600);
  EXPECT_EQ(us->span_at(t("2030-01-01T00:00:00Z")).offset, -5 * 3600);

  auto fixed = PosixRule::parse("<+0545>-5:45");
  ASSERT_TRUE(fixed);
  EXPECT_FALSE(fixed->has_dst());
  EXPECT_EQ(fixed->span_at(0).offset, 5 * 3600 + 45 * 60);

  // Julian day without leap days, zero-based day, explicit times, negative time.
  auto j = PosixRule::parse("AAA3BBB,J60/2,J300/-1");
  ASSERT_TRUE(j);
  // J60 is 1 March in every year.
  EXPECT_EQ(j->span_at(t("2028-03-01T04:59:59Z")).offset, -3 * 3600);
  EXPECT_EQ(j->span_at(t("2028-03-01T05:00:00Z")).offset, -2 * 3600);

  // DST all year (RFC 8536's trick for permanent DST).
  auto always = PosixRule::parse("EST5EDT,0/0,J365/25");
  ASSERT_TRUE(always);
  for (const char* when : {"2030-01-01T00:00:00Z", "2030-01-01T05:00:00Z", "2030-06-01T00:00:00Z",
                           "2030-12-31T23:59:59Z"}) {
    EXPECT_EQ(always->span_at(t(when)).offset, -4 * 3600) << when;
  }

  for (const char* bad : {"", "E5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
                          "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J10", "EST5EDT,M3.2.0",
                          "EST5EDT,M3.2.0,M11.1.0,", "<AB>3", "EST5EDT,M3.2.0/168,M11.1.0"}) {
    EXPECT_FALSE(PosixRule::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace cronkit::cron::testing
