#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cronkit::cron {

/// A span of time with one UTC offset: local time = UTC + offset for begin <= t < end.
/// Times are seconds since the Unix epoch.
struct OffsetSpan {
  std::int64_t begin;
  std::int64_t end;
  std::int32_t offset;

  bool contains(std::int64_t t) const { return t >= begin && t < end; }
};

/// A POSIX TZ rule such as "EST5EDT,M3.2.0,M11.1.0": the footer of a TZif file, which
/// says how a zone behaves after its last listed transition.
class PosixRule {
 public:
  /// Returns nullopt if the text is not a valid POSIX TZ string.
  static std::optional<PosixRule> parse(std::string_view text);

  /// The span around t under this rule. Thread-safe.
  OffsetSpan span_at(std::int64_t t) const;
  bool has_dst() const { return has_dst_; }

 private:
  struct When {
    enum class Kind : std::uint8_t { julian_no_leap, zero_based, month_week_day };
    Kind kind = Kind::month_week_day;
    int day = 0;               // Jn: 1-365; n: 0-365; Mm.w.d: weekday 0-6
    int month = 0;             // Mm.w.d only
    int week = 0;              // Mm.w.d only, 1-5 (5 = last)
    std::int32_t time = 7200;  // seconds after local midnight, may be negative or past 24h
  };
  static std::optional<When> parse_when(std::string_view& s);
  // The UTC instant at which `w` happens in `year`, reading local time with `offset`.
  static std::int64_t instant(const When& w, int year, std::int32_t offset);

  std::int32_t std_offset_ = 0;
  std::int32_t dst_offset_ = 0;
  bool has_dst_ = false;
  When start_;
  When end_;
};

/// The rules of one IANA time zone, read from the system's TZif files and extended past
/// the last listed transition by the file's POSIX rule (so 2100 is as right as 2030).
/// Immutable and thread-safe; share it freely.
///   auto ny = Zone::find("America/New_York");
///   if (ny) offset = (*ny)->offset_at(t);
class Zone {
 public:
  /// The zone named `name` (e.g. "Europe/London"), loaded once and cached for the process.
  /// Returns an error message if the name is malformed or no such zone is installed.
  /// Thread-safe.
  static std::expected<std::shared_ptr<const Zone>, std::string> find(std::string_view name);

  /// Parses TZif data (RFC 8536). Returns an error message if it is malformed.
  static std::expected<std::shared_ptr<const Zone>, std::string> from_tzif(std::string name,
                                                                           std::string_view data);

  /// Coordinated Universal Time, always available, even without tzdata.
  static std::shared_ptr<const Zone> utc();

  const std::string& name() const { return name_; }

  /// True if the offset never changes (UTC, Etc/GMT+5, ...).
  bool fixed() const { return fixed_; }

  /// The span of constant offset that contains t.
  OffsetSpan span_at(std::int64_t t) const;
  std::int32_t offset_at(std::int64_t t) const { return span_at(t).offset; }

 private:
  Zone() = default;
  void finish();

  std::string name_;
  std::int32_t initial_offset_ = 0;        // before the first transition
  std::vector<std::int64_t> transitions_;  // instants at which the offset changes
  std::vector<std::int32_t> offsets_;      // offsets_[i] holds from transitions_[i]
  std::optional<PosixRule> rule_;          // after the last transition
  bool fixed_ = true;
};

/// Remembers the last span it looked up, so that walking forward through time in one zone
/// costs a comparison per lookup instead of a search. Not thread-safe: one per walker.
class ZoneCursor {
 public:
  explicit ZoneCursor(const Zone& zone) : zone_(&zone), span_{1, 0, 0} {}

  std::int32_t offset_at(std::int64_t t) {
    if (!span_.contains(t)) span_ = zone_->span_at(t);
    return span_.offset;
  }
  const Zone& zone() const { return *zone_; }

 private:
  const Zone* zone_;
  OffsetSpan span_;
};

}  // namespace cronkit::cron
