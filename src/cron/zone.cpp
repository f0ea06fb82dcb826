#include "cron/zone.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace cronkit::cron {
namespace {

using namespace std::chrono;

constexpr std::int64_t kMinTime = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxTime = std::numeric_limits<std::int64_t>::max();

std::int64_t days_of(int y, unsigned m, unsigned d) {
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count();
}

// ---- POSIX TZ strings ------------------------------------------------------------------

bool take(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

std::optional<int> take_number(std::string_view& s, int max) {
  int value = 0;
  std::size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
    value = value * 10 + (s[n] - '0');
    if (value > max) return std::nullopt;
    ++n;
  }
  if (n == 0) return std::nullopt;
  s.remove_prefix(n);
  return value;
}

// A zone abbreviation: three or more letters, or <...> with letters, digits, + and -.
bool take_name(std::string_view& s) {
  std::size_t n = 0;
  if (take(s, '<')) {
    while (n < s.size() && s[n] != '>') {
      char c = s[n];
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '+' || c == '-';
      if (!ok) return false;
      ++n;
    }
    if (n == s.size() || n < 3) return false;
    s.remove_prefix(n + 1);
    return true;
  }
  while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z')))
    ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}

// [+-]hh[:mm[:ss]], in seconds. POSIX offsets count west of Greenwich; the caller negates.
std::optional<std::int32_t> take_duration(std::string_view& s, int max_hours) {
  int sign = 1;
  if (take(s, '-')) {
    sign = -1;
  } else {
    take(s, '+');
  }
  auto h = take_number(s, max_hours);
  if (!h) return std::nullopt;
  int m = 0, sec = 0;
  if (take(s, ':')) {
    auto mm = take_number(s, 59);
    if (!mm) return std::nullopt;
    m = *mm;
    if (take(s, ':')) {
      auto ss = take_number(s, 59);
      if (!ss) return std::nullopt;
      sec = *ss;
    }
  }
  return sign * (*h * 3600 + m * 60 + sec);
}

// ---- TZif (RFC 8536) -------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool has(std::size_t n) const { return pos_ <= data_.size() && data_.size() - pos_ >= n; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v = (v << 8) | static_cast<unsigned char>(data_[pos_++]);
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v = (v << 8) | static_cast<unsigned char>(data_[pos_++]);
    return static_cast<std::int64_t>(v);
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(data_[pos_++]); }
  void skip(std::size_t n) { pos_ += n; }
  std::size_t pos() const { return pos_; }
  std::string_view rest() const { return data_.substr(pos_); }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

struct Header {
  char version;
  std::uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

std::optional<Header> read_header(Reader& r) {
  if (!r.has(44)) return std::nullopt;
  std::string_view magic = r.rest().substr(0, 4);
  if (magic != "TZif") return std::nullopt;
  r.skip(4);
  Header h{};
  h.version = static_cast<char>(r.u8());
  r.skip(15);
  h.isutcnt = r.u32();
  h.isstdcnt = r.u32();
  h.leapcnt = r.u32();
  h.timecnt = r.u32();
  h.typecnt = r.u32();
  h.charcnt = r.u32();
  // Generous bounds that no real zone comes near; they keep the size sums below from
  // overflowing on hostile input.
  if (h.typecnt == 0 || h.typecnt > 256 || h.timecnt > 100000 || h.charcnt > 100000 ||
      h.leapcnt > 100000 || h.isutcnt > 256 || h.isstdcnt > 256) {
    return std::nullopt;
  }
  return h;
}

std::size_t block_size(const Header& h, std::size_t time_size) {
  return h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt +
         h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/') return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(start, slash - start);
    if (part.empty() || part.front() == '.') return false;
    for (char c : part) {
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '-' || c == '+' || c == '.';
      if (!ok) return false;
    }
    start = slash + 1;
  }
  return true;
}

}  // namespace

// ---- PosixRule -------------------------------------------------------------------------

std::optional<PosixRule::When> PosixRule::parse_when(std::string_view& s) {
  When w;
  if (take(s, 'J')) {
    auto n = take_number(s, 365);
    if (!n || *n < 1) return std::nullopt;
    w.kind = When::Kind::julian_no_leap;
    w.day = *n;
  } else if (take(s, 'M')) {
    auto m = take_number(s, 12);
    if (!m || *m < 1 || !take(s, '.')) return std::nullopt;
    auto wk = take_number(s, 5);
    if (!wk || *wk < 1 || !take(s, '.')) return std::nullopt;
    auto d = take_number(s, 6);
    if (!d) return std::nullopt;
    w.kind = When::Kind::month_week_day;
    w.month = *m;
    w.week = *wk;
    w.day = *d;
  } else {
    auto n = take_number(s, 365);
    if (!n) return std::nullopt;
    w.kind = When::Kind::zero_based;
    w.day = *n;
  }
  if (take(s, '/')) {
    // RFC 8536 extends POSIX to allow -167..167 hours here.
    auto t = take_duration(s, 167);
    if (!t) return std::nullopt;
    w.time = *t;
  }
  return w;
}

std::optional<PosixRule> PosixRule::parse(std::string_view s) {
  PosixRule rule;
  if (!take_name(s)) return std::nullopt;
  auto std_off = take_duration(s, 24);
  if (!std_off) return std::nullopt;
  rule.std_offset_ = -*std_off;
  if (s.empty()) return rule;

  if (!take_name(s)) return std::nullopt;
  rule.has_dst_ = true;
  rule.dst_offset_ = rule.std_offset_ + 3600;
  if (!s.empty() && s.front() != ',') {
    auto dst_off = take_duration(s, 24);
    if (!dst_off) return std::nullopt;
    rule.dst_offset_ = -*dst_off;
  }
  if (s.empty()) {
    // POSIX leaves the default rule to the implementation; tzcode uses the US rule.
    s = ",M3.2.0,M11.1.0";
  }
  if (!take(s, ',')) return std::nullopt;
  auto start = parse_when(s);
  if (!start || !take(s, ',')) return std::nullopt;
  auto end = parse_when(s);
  if (!end || !s.empty()) return std::nullopt;
  rule.start_ = *start;
  rule.end_ = *end;
  return rule;
}

std::int64_t PosixRule::instant(const When& w, int y, std::int32_t offset) {
  std::int64_t days = 0;
  switch (w.kind) {
    case When::Kind::julian_no_leap: {
      days = days_of(y, 1, 1) + w.day - 1;
      if (year{y}.is_leap() && w.day >= 60) ++days;
      break;
    }
    case When::Kind::zero_based:
      days = days_of(y, 1, 1) + w.day;
      break;
    case When::Kind::month_week_day: {
      auto first = sys_days{year{y} / month(static_cast<unsigned>(w.month)) / 1};
      unsigned wd = weekday{first}.c_encoding();
      unsigned last = static_cast<unsigned>(
          (year{y} / month(static_cast<unsigned>(w.month)) / std::chrono::last).day());
      unsigned d = 1 + (static_cast<unsigned>(w.day) + 7 - wd) % 7 + 7 * (w.week - 1);
      while (d > last)
        d -= 7;
      days = first.time_since_epoch().count() + d - 1;
      break;
    }
  }
  return days * 86400 + w.time - offset;
}

OffsetSpan PosixRule::span_at(std::int64_t t) const {
  if (!has_dst_) return {kMinTime, kMaxTime, std_offset_};
  // Far outside any calendar a schedule can reach: answer for one second only, and keep
  // the date arithmetic below in range.
  constexpr std::int64_t kFar = std::int64_t{1} << 40;
  if (t < -kFar || t > kFar) {
    std::int32_t offset = span_at(t < 0 ? -kFar : kFar).offset;
    return {t, t == kMaxTime ? t : t + 1, offset};
  }
  // Transitions of the neighbouring years too: a rule's instant can fall on either side
  // of a New Year, and southern zones start DST late in the year.
  int y = static_cast<int>(year_month_day{floor<days>(sys_seconds{seconds{t}})}.year());
  struct Event {
    std::int64_t at;
    std::int32_t offset;
    bool to_dst;
  };
  std::array<Event, 8> ev{};
  std::size_t n = 0;
  for (int yy = y - 2; yy <= y + 1; ++yy) {
    ev[n++] = {instant(start_, yy, std_offset_), dst_offset_, true};
    ev[n++] = {instant(end_, yy, dst_offset_), std_offset_, false};
  }
  // At equal instants the end of one year's DST comes before the start of the next
  // year's, which keeps zones that are on DST all year ("EST5EDT,0/0,J365/25") right.
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
    return a.at != b.at ? a.at < b.at : (!a.to_dst && b.to_dst);
  });
  OffsetSpan span{kMinTime, ev[0].at, ev[0].to_dst ? std_offset_ : dst_offset_};
  for (std::size_t i = 0; i < ev.size(); ++i) {
    if (ev[i].at > t) break;
    span.begin = ev[i].at;
    span.offset = ev[i].offset;
    span.end = i + 1 < ev.size() ? ev[i + 1].at : kMaxTime;
  }
  return span;
}

// ---- Zone ------------------------------------------------------------------------------

std::expected<std::shared_ptr<const Zone>, std::string> Zone::from_tzif(std::string name,
                                                                        std::string_view data) {
  Reader r{data};
  auto h1 = read_header(r);
  if (!h1) return std::unexpected("not a TZif file");
  std::size_t v1 = block_size(*h1, 4);
  if (!r.has(v1)) return std::unexpected("truncated TZif data");

  Header h = *h1;
  std::size_t time_size = 4;
  if (h1->version >= '2') {
    r.skip(v1);
    auto h2 = read_header(r);
    if (!h2) return std::unexpected("malformed TZif version 2 header");
    h = *h2;
    time_size = 8;
    if (!r.has(block_size(h, 8))) return std::unexpected("truncated TZif data");
  }
  if (h.leapcnt != 0) return std::unexpected("zones with leap seconds are not supported");

  std::vector<std::int64_t> times(h.timecnt);
  for (auto& t : times)
    t = time_size == 8 ? r.i64() : static_cast<std::int32_t>(r.u32());
  std::vector<std::uint8_t> idx(h.timecnt);
  for (auto& i : idx) {
    i = r.u8();
    if (i >= h.typecnt) return std::unexpected("TZif transition names an unknown type");
  }
  std::vector<std::int32_t> type_offsets(h.typecnt);
  for (auto& off : type_offsets) {
    off = static_cast<std::int32_t>(r.u32());
    r.skip(2);  // isdst, abbreviation index: only offsets matter for firing times
    if (off <= -25 * 3600 || off >= 26 * 3600) return std::unexpected("TZif offset out of range");
  }
  for (std::size_t i = 1; i < times.size(); ++i) {
    if (times[i] <= times[i - 1]) return std::unexpected("TZif transitions out of order");
  }
  r.skip(h.charcnt + h.isstdcnt + h.isutcnt);

  std::shared_ptr<Zone> zone{new Zone()};
  zone->name_ = std::move(name);
  zone->initial_offset_ = type_offsets[0];
  zone->transitions_ = std::move(times);
  zone->offsets_.reserve(idx.size());
  for (auto i : idx)
    zone->offsets_.push_back(type_offsets[i]);

  if (time_size == 8) {
    std::string_view footer = r.rest();
    if (footer.size() < 2 || footer.front() != '\n') return std::unexpected("missing TZif footer");
    footer.remove_prefix(1);
    auto nl = footer.find('\n');
    if (nl == std::string_view::npos) return std::unexpected("unterminated TZif footer");
    footer = footer.substr(0, nl);
    if (!footer.empty()) {
      zone->rule_ = PosixRule::parse(footer);
      if (!zone->rule_) return std::unexpected("unsupported TZ rule in TZif footer");
    }
  }
  zone->finish();
  return zone;
}

void Zone::finish() {
  // Keep only transitions that change the offset: abbreviation or isdst changes alone do
  // not move any firing time.
  std::vector<std::int64_t> times;
  std::vector<std::int32_t> offsets;
  std::int32_t prev = initial_offset_;
  for (std::size_t i = 0; i < transitions_.size(); ++i) {
    if (offsets_[i] == prev) continue;
    times.push_back(transitions_[i]);
    offsets.push_back(offsets_[i]);
    prev = offsets_[i];
  }
  transitions_ = std::move(times);
  offsets_ = std::move(offsets);
  fixed_ = transitions_.empty() && (!rule_ || !rule_->has_dst());
  if (fixed_ && rule_) initial_offset_ = rule_->span_at(0).offset;
}

OffsetSpan Zone::span_at(std::int64_t t) const {
  if (transitions_.empty()) {
    return rule_ ? rule_->span_at(t) : OffsetSpan{kMinTime, kMaxTime, initial_offset_};
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
  if (it == transitions_.begin()) return {kMinTime, transitions_.front(), initial_offset_};
  auto i = static_cast<std::size_t>(std::distance(transitions_.begin(), it)) - 1;
  if (i + 1 < transitions_.size()) return {transitions_[i], transitions_[i + 1], offsets_[i]};
  if (!rule_) return {transitions_.back(), kMaxTime, offsets_.back()};
  OffsetSpan span = rule_->span_at(t);
  span.begin = std::max(span.begin, transitions_.back());
  return span;
}

std::shared_ptr<const Zone> Zone::utc() {
  static const std::shared_ptr<const Zone> zone = [] {
    std::shared_ptr<Zone> z{new Zone()};
    z->name_ = "UTC";
    return z;
  }();
  return zone;
}

std::expected<std::shared_ptr<const Zone>, std::string> Zone::find(std::string_view name) {
  if (name == "UTC") return utc();
  if (!valid_zone_name(name)) {
    return std::unexpected("'" + std::string(name) + "' is not a valid time zone name");
  }
  static std::mutex mutex;
  static std::unordered_map<std::string, std::shared_ptr<const Zone>> cache;
  std::string key{name};
  {
    std::lock_guard lock{mutex};
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + key;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return std::unexpected("unknown time zone '" + key + "'");
  }
  std::ifstream in{path, std::ios::binary};
  std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  auto zone = from_tzif(key, data);
  if (!zone) return std::unexpected("unknown time zone '" + key + "': " + zone.error());
  std::lock_guard lock{mutex};
  return cache.emplace(key, *zone).first->second;
}

}  // namespace cronkit::cron
