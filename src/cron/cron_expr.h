#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cron/zone.h"

namespace cronkit::cron {

/// An instant, to the second.
using Instant = std::chrono::sys_seconds;

/// Why a pattern was rejected.
struct ParseError {
  std::string field;    // "second", "minute", "hour", "day-of-month", "month", "day-of-week",
                        // "year", or "pattern" when the problem is not in one field
  int column = 0;       // 1-based column in the text (0: not in the text, e.g. an implied field)
  std::string message;  // "25 is out of range 0-23"

  /// "hour: 25 is out of range 0-23"
  std::string describe() const;
};

/// The years a pattern's seventh field allows.
struct YearSet {
  static constexpr int kMax = 9999;
  std::array<std::uint64_t, (kMax + 64) / 64> bits{};

  void set(int y) { bits[static_cast<unsigned>(y) / 64] |= std::uint64_t{1} << (y % 64); }
  bool test(int y) const { return (bits[static_cast<unsigned>(y) / 64] >> (y % 64)) & 1; }
  /// The smallest allowed year >= y, or -1.
  int next(int y) const;
  bool operator==(const YearSet&) const = default;
};

struct WalkCache;

/// A parsed cron pattern with the syntax and the firing rules of croner 11: 5, 6 or 7
/// fields, names, L W # and +, nicknames; DST as croner handles it.
///   auto expr = CronExpr::parse("0 30 9 * * MON-FRI");
///   auto ny = Zone::find("America/New_York");
///   auto next = expr->next_after(now, **ny);
/// Immutable and thread-safe.
class CronExpr {
 public:
  /// Parses `text`; accepts exactly what croner 11 accepts with its default options.
  static std::expected<CronExpr, ParseError> parse(std::string_view text);

  /// The first firing instant strictly after t, or nullopt if there is none (the pattern
  /// can never fire, or its years have run out: croner stops at year 3000 when the year
  /// field is '*', at 9999 otherwise).
  std::optional<Instant> next_after(Instant t, const Zone& zone) const;

  /// The last firing instant strictly before t, or nullopt. Consistent with next_after:
  /// next_after(*prev_before(t)) is the first firing at or after t (or nullopt).
  std::optional<Instant> prev_before(Instant t, const Zone& zone) const;

  /// Up to n successive firing instants after t.
  std::vector<Instant> next_n(Instant t, const Zone& zone, std::size_t n) const;

  /// A normalised text form with 6 fields (7 when years are restricted) that parses back
  /// to an expression that fires at the same instants.
  std::string canonical() const;

  /// False if no date can ever match (e.g. "0 0 30 2 *"); such a pattern answers at once.
  bool can_fire() const { return can_fire_; }

  /// Croner's "fixed time": one value in each of seconds, minutes and hours, with no '*'
  /// or '/'. It fires once in a repeated hour and just after a skipped one; other patterns
  /// fire in both passes of a repeated hour and skip times that do not exist.
  bool fixed_time() const { return fixed_time_; }

  bool operator==(const CronExpr& other) const;

 private:
  friend class Parser;
  friend class Walker;
  friend class Schedule;

  std::optional<std::int64_t> next_after(std::int64_t t, ZoneCursor& zone, WalkCache& cache) const;
  // The days of a month that match, as bits 1-31. They depend only on the month's length
  // and the weekday of its first day (0 = Sunday).
  std::uint32_t days_matching(int length, unsigned first_weekday) const;
  std::uint32_t day_mask(int year, unsigned month) const;
  bool compute_can_fire() const;

  std::uint64_t seconds_ = 0;               // bit s
  std::uint64_t minutes_ = 0;               // bit m
  std::uint32_t hours_ = 0;                 // bit h
  std::uint32_t days_ = 0;                  // bit d, 1-31
  std::uint32_t nearest_ = 0;               // bit d for "dW"
  std::uint16_t months_ = 0;                // bit m, 1-12
  std::array<std::uint8_t, 7> weekdays_{};  // per weekday: bits 0-4 = 1st-5th, bit 5 = last
  std::uint8_t every_weekday_ = 0;          // weekdays wanted every week (derived)
  std::uint8_t nth_weekday_ = 0;            // weekdays wanted in some weeks only (derived)
  std::shared_ptr<const YearSet> years_;    // null when every year is allowed
  bool last_day_ = false;                   // "L" in day-of-month
  bool last_weekday_ = false;               // "LW"
  bool star_dom_ = false;                   // day-of-month is '*'
  bool star_dow_ = false;                   // day-of-week is '*'
  bool star_year_ = true;                   // year is '*' (croner then stops at year 3000)
  bool and_logic_ = false;                  // '+' on day-of-week
  bool fixed_time_ = false;
  bool can_fire_ = false;
};

/// Per-walker memo of the last month visited: its matching days and where it lies.
struct WalkCache {
  int year = 0;
  unsigned month = 0;          // 0: empty
  std::uint32_t mask = 0;      // matching days, bits 1-31
  std::int64_t first_day = 0;  // days since 1970-01-01 of the 1st
  int length = 0;              // days in the month
  // days_matching() by (length - 28) * 7 + weekday of the 1st; bit i of `known` marks entry i.
  std::array<std::uint32_t, 28> masks{};
  std::uint32_t known = 0;
};

/// One expression walking forward in one zone; cheaper than CronExpr::next_after for
/// successive instants because it keeps its zone span and month between calls.
///   Schedule s{*CronExpr::parse("*/5 * * * * *"), Zone::utc()};
///   for (auto t = s.next_after(now); t; t = s.next_after(*t)) ...
/// Not thread-safe: one per walker.
class Schedule {
 public:
  Schedule(CronExpr expr, std::shared_ptr<const Zone> zone)
      : expr_(std::move(expr)), zone_(std::move(zone)), cursor_(*zone_) {}
  Schedule(const Schedule&) = delete;
  Schedule& operator=(const Schedule&) = delete;

  std::optional<Instant> next_after(Instant t);
  const CronExpr& expr() const { return expr_; }
  const Zone& zone() const { return *zone_; }

 private:
  CronExpr expr_;
  std::shared_ptr<const Zone> zone_;
  ZoneCursor cursor_;
  WalkCache cache_;
};

/// "2026-03-08T07:00:00Z"
std::string format_utc(Instant t);

/// Reads "2026-03-08T07:00:00Z", "2026-03-08T02:00:00-05:00", "2026-03-08" or a time without
/// an offset, which is wall-clock time in `zone` (the first pass of a repeated time; for a
/// skipped one, the instant the reading would have had on the old offset).
std::expected<Instant, std::string> parse_time(std::string_view text, const Zone& zone);

}  // namespace cronkit::cron
