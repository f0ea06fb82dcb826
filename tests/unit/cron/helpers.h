#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace cronkit::cron::testing {

inline Instant at(const std::string& iso) {
  auto t = parse_time(iso, *Zone::utc());
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(Instant{});
}

inline const Zone& zone(const std::string& name) {
  auto z = Zone::find(name);
  EXPECT_TRUE(z.has_value()) << name << ": " << (z ? "" : z.error());
  return z ? **z : *Zone::utc();
}

inline CronExpr expr(const std::string& pattern) {
  auto e = CronExpr::parse(pattern);
  EXPECT_TRUE(e.has_value()) << pattern << ": " << (e ? "" : e.error().describe());
  return e ? *e : CronExpr{};
}

// The next n firing instants as ISO-8601 UTC text.
inline std::vector<std::string> next(const std::string& pattern, const std::string& from,
                                     std::size_t n = 1, const std::string& tz = "UTC") {
  std::vector<std::string> out;
  for (auto t : expr(pattern).next_n(at(from), zone(tz), n))
    out.push_back(format_utc(t));
  return out;
}

inline std::vector<std::string> v(std::initializer_list<std::string> xs) {
  return xs;
}

}  // namespace cronkit::cron::testing
