#include "cron/cron_expr.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <climits>
#include <cstdio>

namespace cronkit::cron {
namespace {

using namespace std::chrono;

// Field order inside a parsed pattern: croner's seven parts.
enum Field : int { kSecond, kMinute, kHour, kDom, kMonth, kDow, kYear, kFieldCount };

constexpr std::array<const char*, kFieldCount> kFieldNames = {
    "second", "minute", "hour", "day-of-month", "month", "day-of-week", "year"};
// Values a field accepts as written (day-of-week 7 is Sunday too).
constexpr std::array<int, kFieldCount> kMin = {0, 0, 0, 1, 1, 0, 1};
constexpr std::array<int, kFieldCount> kMax = {59, 59, 23, 31, 12, 7, 9999};
// croner's array lengths, which bound steps and stepping loops.
constexpr std::array<int, kFieldCount> kLength = {60, 60, 24, 31, 12, 7, 10000};
// What croner adds to a written value to index its array.
constexpr std::array<int, kFieldCount> kOffset = {0, 0, 0, -1, -1, 0, 0};

constexpr std::int64_t kDay = 86400;
// 0001-01-01T00:00:00 and 10000-01-01T00:00:00: croner's calendar is years 1-9999.
constexpr std::int64_t kEarliest = -62135596800;
constexpr std::int64_t kLatest = 253402300800;
// Numbers saturate here: far beyond any field's range, so every comparison croner makes
// with the exact value comes out the same.
constexpr std::int64_t kHuge = 1'000'000'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string upper(std::string_view s) {
  std::string out{s};
  for (char& c : out)
    c = upper(c);
  return out;
}

bool contains(std::string_view s, char c) {
  return s.find(c) != std::string_view::npos;
}

bool contains_ci(std::string_view s, char c) {
  return std::any_of(s.begin(), s.end(), [c](char x) { return upper(x) == c; });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

// croner's toNumber: /^\d+$/ or nothing.
std::optional<std::int64_t> to_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = std::min(v * 10 + (c - '0'), kHuge);
  }
  return v;
}

// Byte length of the JavaScript whitespace character (what /\s/ matches) at s[i], or 0.
std::size_t js_space(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  unsigned c = b(0);
  if (c == ' ' || (c >= 0x09 && c <= 0x0d)) return 1;
  if (c == 0xc2 && b(1) == 0xa0) return 2;                  // U+00A0
  if (c == 0xe1 && b(1) == 0x9a && b(2) == 0x80) return 3;  // U+1680
  if (c == 0xe2 && b(1) == 0x80 && (b(2) <= 0x8a || b(2) == 0xa8 || b(2) == 0xa9 || b(2) == 0xaf))
    return b(2) >= 0x80 ? 3 : 0;                            // U+2000-200A, 2028, 2029, 202F
  if (c == 0xe2 && b(1) == 0x81 && b(2) == 0x9f) return 3;  // U+205F
  if (c == 0xe3 && b(1) == 0x80 && b(2) == 0x80) return 3;  // U+3000
  if (c == 0xef && b(1) == 0xbb && b(2) == 0xbf) return 3;  // U+FEFF
  return 0;
}

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

std::string_view js_trim(std::string_view s) {
  while (!s.empty() && js_space(s, 0))
    s.remove_prefix(js_space(s, 0));
  for (;;) {
    std::size_t cut = 0;
    for (std::size_t n = 1; n <= 3 && n <= s.size(); ++n) {
      if (js_space(s, s.size() - n) == n) cut = n;
    }
    if (cut == 0) return s;
    s.remove_suffix(cut);
  }
}

// croner lower-cases nicknames with String.prototype.toLowerCase: ASCII, plus the Kelvin
// sign, the only non-ASCII character that lower-cases to a letter of a nickname.
std::string nickname_key(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if (s.substr(i, 3) == "\xe2\x84\xaa") {  // U+212A KELVIN SIGN
      out += 'k';
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

struct Nickname {
  const char* name;
  const char* pattern;
};
constexpr std::array<Nickname, 7> kNicknames = {{{"@yearly", "0 0 1 1 *"},
                                                 {"@annually", "0 0 1 1 *"},
                                                 {"@monthly", "0 0 1 * *"},
                                                 {"@weekly", "0 0 * * SUN"},
                                                 {"@daily", "0 0 * * *"},
                                                 {"@midnight", "0 0 * * *"},
                                                 {"@hourly", "0 * * * *"}}};

struct Name {
  const char* name;
  const char* value;
};
constexpr std::array<Name, 12> kMonthNames = {{{"jan", "1"},
                                               {"feb", "2"},
                                               {"mar", "3"},
                                               {"apr", "4"},
                                               {"may", "5"},
                                               {"jun", "6"},
                                               {"jul", "7"},
                                               {"aug", "8"},
                                               {"sep", "9"},
                                               {"oct", "10"},
                                               {"nov", "11"},
                                               {"dec", "12"}}};
// "-sun" first, so that "FRI-SUN" is the range 5-7 rather than the backwards 5-0.
constexpr std::array<Name, 8> kDayNames = {{{"-sun", "-7"},
                                            {"sun", "0"},
                                            {"mon", "1"},
                                            {"tue", "2"},
                                            {"wed", "3"},
                                            {"thu", "4"},
                                            {"fri", "5"},
                                            {"sat", "6"}}};

std::string range_text(int f) {
  return std::to_string(kMin[f]) + "-" + std::to_string(kMax[f]);
}

int days_in_month(int y, unsigned m) {
  return static_cast<int>(static_cast<unsigned>((year{y} / month{m} / last).day()));
}

// 0 = Sunday.
unsigned weekday_of(int y, unsigned m, unsigned d) {
  return weekday{sys_days{year{y} / month{m} / day{d}}}.c_encoding();
}

}  // namespace

// ---- Parser ----------------------------------------------------------------------------

// Follows croner 11's CronPattern step by step, so that exactly the same texts are
// accepted; the error messages are ours.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::expected<CronExpr, ParseError> run() {
    if (!tokenize() || !prepare() || !fill()) return std::unexpected(*error_);
    finish();
    return std::move(expr_);
  }

 private:
  struct Part {
    std::string text;
    int column = 0;      // of the field's first character; 0 if implied
    bool exact = false;  // text still maps 1:1 onto the input from column on
  };

  bool fail(std::string field, int column, std::string message) {
    error_ = ParseError{std::move(field), column, std::move(message)};
    return false;
  }
  bool fail(int f, int column, std::string message) {
    return fail(kFieldNames[f], column, std::move(message));
  }
  int column_of(const Part& p, std::string_view element) const {
    if (!p.exact || p.column == 0) return p.column;
    return p.column + static_cast<int>(element.data() - p.text.data());
  }

  bool tokenize() {
    std::string_view text = text_;
    int nickname_column = 0;
    std::string expanded;
    if (contains(text, '@')) {
      std::string_view trimmed = js_trim(text);
      std::string key = nickname_key(trimmed);
      nickname_column = 1 + static_cast<int>(trimmed.data() - text.data());
      if (key == "@reboot") {
        return fail("pattern", nickname_column,
                    "@reboot is not supported: it fires at start-up, not on a schedule");
      }
      for (const auto& n : kNicknames) {
        if (key == n.name) {
          expanded = n.pattern;
          text = expanded;
        }
      }
    }
    // Split on whitespace as JavaScript's /\S+/g does, counting columns in characters.
    std::size_t i = 0;
    int column = 1;
    while (i < text.size()) {
      if (std::size_t n = js_space(text, i)) {
        i += n;
        ++column;
        continue;
      }
      Part p;
      p.column = expanded.empty() ? column : nickname_column;
      p.exact = expanded.empty();
      while (i < text.size() && !js_space(text, i)) {
        p.text += text[i];
        if (!is_continuation(text[i])) ++column;
        ++i;
      }
      parts_.push_back(std::move(p));
    }
    if (parts_.size() < 5 || parts_.size() > 7) {
      return fail(
          "pattern", parts_.empty() ? 1 : parts_.front().column,
          "expected 5, 6 or 7 fields separated by spaces, found " + std::to_string(parts_.size()));
    }
    if (parts_.size() == 5) parts_.insert(parts_.begin(), Part{"0", 0, false});
    if (parts_.size() == 6) parts_.push_back(Part{"*", 0, false});
    if (contains(text, '?')) {
      for (auto& p : parts_)
        std::replace(p.text.begin(), p.text.end(), '?', '*');
    }
    return true;
  }

  bool prepare() {
    Part& dom = parts_[kDom];
    std::string dom_upper = upper(dom.text);
    if (dom_upper == "LW") {
      expr_.last_weekday_ = true;
      dom.text.clear();
      dom.exact = false;
    } else if (contains(dom_upper, 'L')) {
      auto items = split(dom.text, ',');
      bool has_lw = std::any_of(items.begin(), items.end(),
                                [](std::string_view s) { return upper(s) == "LW"; });
      if (items.size() > 1 && has_lw) {
        return fail(kDom, dom.column, "LW must stand alone, not in a list");
      }
      for (auto item : items) {
        if (item.empty() || (upper(item) != "L" && contains_ci(item, 'L'))) {
          return fail(kDom, column_of(dom, item),
                      "L must be a value of its own ('" + std::string(item) + "')");
        }
      }
      std::string kept;
      for (auto item : items) {
        if (upper(item) == "L") continue;
        if (!kept.empty()) kept += ',';
        kept += item;
      }
      dom.text = kept;
      dom.exact = false;
      expr_.last_day_ = true;
    }
    expr_.star_dom_ = dom.text == "*";
    expr_.star_year_ = parts_[kYear].text == "*";
    if (parts_[kMonth].text.size() >= 3 && !replace_names(parts_[kMonth], kMonthNames, kMonth)) {
      return false;
    }
    Part& dow = parts_[kDow];
    if (dow.text.size() >= 3 && !replace_names(dow, kDayNames, kDow)) return false;
    if (!dow.text.empty() && dow.text.front() == '+') {
      expr_.and_logic_ = true;
      dow.text.erase(0, 1);
      if (dow.column) ++dow.column;
      if (dow.text.empty()) return fail(kDow, dow.column, "nothing follows '+'");
    }
    expr_.star_dow_ = dow.text == "*";
    for (int f = 0; f < kFieldCount; ++f) {
      std::string_view allowed = f == kDom   ? "/*0123456789,-WwLl"
                                 : f == kDow ? "/*0123456789,-#Ll"
                                             : "/*0123456789,-";
      const Part& p = parts_[f];
      std::size_t bad = p.text.find_first_not_of(allowed);
      if (bad != std::string::npos) {
        int col = p.exact ? p.column + static_cast<int>(bad) : p.column;
        std::string what = (static_cast<unsigned char>(p.text[bad]) < 0x80)
                               ? "'" + std::string(1, p.text[bad]) + "'"
                               : "a non-ASCII character";
        return fail(f, col, what + " is not allowed in '" + p.text + "'");
      }
    }
    return true;
  }

  // croner's replaceAlpha: each name, case-insensitively, must stand alone: no letter,
  // digit, '/' or '#' before it, and nothing but 'L' (or a separator) after it.
  template <std::size_t N>
  bool replace_names(Part& p, const std::array<Name, N>& names, int f) {
    std::string before = p.text;
    for (const auto& n : names) {
      std::string_view name = n.name;
      const std::string u = p.text;
      std::string out;
      std::size_t pos = 0;
      for (std::size_t i = 0; i + name.size() <= u.size();) {
        bool match = true;
        for (std::size_t k = 0; k < name.size(); ++k) {
          if (upper(u[i + k]) != upper(name[k])) {
            match = false;
            break;
          }
        }
        if (!match) {
          ++i;
          continue;
        }
        std::size_t l = i + name.size() - 3;
        char h = l >= 1 ? u[l - 1] : '\0';
        char m = l + 3 < u.size() ? u[l + 3] : '\0';
        bool bad_before = std::isalnum(static_cast<unsigned char>(h)) || h == '/' || h == '#';
        bool bad_after = std::isalnum(static_cast<unsigned char>(m)) && upper(m) != 'L';
        if (bad_before || bad_after) {
          return fail(f, p.exact ? p.column + static_cast<int>(l) : p.column,
                      "a name must stand alone ('" + p.text + "')");
        }
        out += u.substr(pos, i - pos);
        out += n.value;
        i += name.size();
        pos = i;
      }
      out += u.substr(pos);
      p.text = std::move(out);
    }
    if (p.text != before) p.exact = false;
    return true;
  }

  bool fill() {
    for (int f = 0; f < kFieldCount; ++f) {
      const Part& p = parts_[f];
      if (f == kYear) {
        if (p.text == "*") break;
        years_ = std::make_shared<YearSet>();
      }
      if (!part(f, p, p.text)) return false;
    }
    return true;
  }

  // croner's partToArray.
  bool part(int f, const Part& p, std::string_view s) {
    int col = column_of(p, s);
    if (s.empty() && !(f == kDom && (expr_.last_day_ || expr_.last_weekday_))) {
      return fail(f, col, "empty value (a stray comma or space?)");
    }
    if (s == "*") {
      fill_all(f);
      return true;
    }
    auto items = split(s, ',');
    if (items.size() > 1) {
      for (auto item : items) {
        if (!part(f, p, item)) return false;
      }
      return true;
    }
    bool dash = contains(s, '-'), slash = contains(s, '/');
    if (dash && slash) return range_step(f, col, s);
    if (dash) return range(f, col, s);
    if (slash) return step(f, col, s);
    if (!s.empty()) return number(f, col, s);
    return true;
  }

  struct Nth {
    std::string_view base;
    std::string_view nth;  // empty: none
  };

  // croner's extractNth: "5#2" and "5L" in day-of-week.
  std::optional<Nth> extract_nth(int f, int col, std::string_view s) {
    if (contains(s, '#')) {
      if (f != kDow) {
        fail(f, col, "'#' is only allowed in day-of-week");
        return std::nullopt;
      }
      auto pieces = split(s, '#');
      if (pieces.size() != 2 || pieces[1].empty()) {
        fail(f, col, "'" + std::string(s) + "' is not a valid nth weekday (use e.g. 5#2)");
        return std::nullopt;
      }
      return Nth{pieces[0], pieces[1]};
    }
    if (!s.empty() && upper(s.back()) == 'L') {
      if (f != kDow) {
        fail(f, col, "'L' here is only allowed in day-of-week (or alone in day-of-month)");
        return std::nullopt;
      }
      return Nth{s.substr(0, s.size() - 1), "L"};
    }
    return Nth{s, {}};
  }

  std::optional<std::int64_t> value(int f, int col, std::string_view s, std::string_view whole) {
    auto n = to_number(s);
    if (!n) {
      fail(f, col, "'" + std::string(whole) + "' is not a number");
      return std::nullopt;
    }
    return *n + kOffset[f];
  }

  bool number(int f, int col, std::string_view s) {
    auto nth = extract_nth(f, col, s);
    if (!nth) return false;
    bool w = contains_ci(s, 'W');
    if (w && f != kDom) return fail(f, col, "'W' is only allowed in day-of-month");
    std::string_view digits = nth->base;
    if (w && !digits.empty() && upper(digits.back()) == 'W') digits.remove_suffix(1);
    auto v = value(f, col, digits, s);
    if (!v) return false;
    if (w) {
      if (*v < 0 || *v > 30) return fail(f, col, out_of_range(f, *v));
      expr_.nearest_ |= std::uint32_t{1} << (*v + 1);
      return true;
    }
    return set(f, col, *v, nth->nth);
  }

  bool range(int f, int col, std::string_view s) {
    if (contains_ci(s, 'W')) return fail(f, col, "'W' is not allowed in a range");
    auto nth = extract_nth(f, col, s);
    if (!nth) return false;
    auto ends = split(nth->base, '-');
    if (ends.size() != 2) return fail(f, col, "'" + std::string(s) + "' is not a valid range");
    auto lo = value(f, col, ends[0], s);
    if (!lo) return false;
    auto hi = value(f, col, ends[1], s);
    if (!hi) return false;
    if (*lo > *hi) return fail(f, col, "range '" + std::string(s) + "' runs backwards");
    for (std::int64_t v = *lo; v <= *hi; ++v) {
      if (!set(f, col, v, nth->nth)) return false;
    }
    return true;
  }

  bool check_step(int f, int col, std::int64_t step) {
    if (step == 0) return fail(f, col, "a step of 0 is not allowed");
    if (step > kLength[f]) {
      return fail(f, col,
                  "step " + std::to_string(step) + " is larger than " + std::to_string(kLength[f]));
    }
    return true;
  }

  bool step(int f, int col, std::string_view s) {
    if (contains_ci(s, 'W')) return fail(f, col, "'W' is not allowed with a step");
    auto nth = extract_nth(f, col, s);
    if (!nth) return false;
    auto pieces = split(nth->base, '/');
    if (pieces.size() != 2) return fail(f, col, "'" + std::string(s) + "' is not a valid step");
    if (pieces[0].empty()) {
      return fail(f, col, "'" + std::string(s) + "' has no start: write */n or a-b/n");
    }
    if (pieces[0] != "*") {
      return fail(f, col, "'" + std::string(s) + "' steps from a single value: write */n or a-b/n");
    }
    auto n = to_number(pieces[1]);
    if (!n) return fail(f, col, "step '" + std::string(pieces[1]) + "' is not a number");
    if (!check_step(f, col, *n)) return false;
    for (std::int64_t v = 0; v < kLength[f]; v += *n) {
      if (f == kYear && v == 0) continue;
      if (!set(f, col, v, nth->nth)) return false;
    }
    return true;
  }

  bool range_step(int f, int col, std::string_view s) {
    if (contains_ci(s, 'W')) return fail(f, col, "'W' is not allowed with a step");
    auto nth = extract_nth(f, col, s);
    if (!nth) return false;
    auto dash = split(nth->base, '-');
    auto slash = dash.size() == 2 ? split(dash[1], '/') : std::vector<std::string_view>{};
    std::optional<std::int64_t> lo, hi, n;
    if (slash.size() == 2) {
      lo = to_number(dash[0]);
      hi = to_number(slash[0]);
      n = to_number(slash[1]);
    }
    if (!lo || !hi || !n) {
      return fail(f, col, "'" + std::string(s) + "' is not a valid stepped range (a-b/n)");
    }
    *lo += kOffset[f];
    *hi += kOffset[f];
    if (*lo > *hi) return fail(f, col, "range '" + std::string(s) + "' runs backwards");
    if (!check_step(f, col, *n)) return false;
    for (std::int64_t v = *lo; v <= *hi; v += *n) {
      if (!set(f, col, v, nth->nth)) return false;
    }
    return true;
  }

  std::string out_of_range(int f, std::int64_t index) const {
    std::int64_t written = index - kOffset[f];
    std::string v = written >= kHuge - 1 ? "value" : std::to_string(written);
    return v + " is out of range " + range_text(f);
  }

  // croner's setPart; v is an array index (day and month are written one higher).
  bool set(int f, int col, std::int64_t v, std::string_view nth) {
    if (f == kDow) {
      if (v == 7) v = 0;
      if (v < 0 || v > 6) return fail(f, col, out_of_range(f, v));
      auto& bits = expr_.weekdays_[static_cast<std::size_t>(v)];
      if (nth.empty()) {
        bits = 63;
      } else if (nth.size() == 1 && upper(nth[0]) == 'L') {
        bits |= 32;
      } else {
        auto k = to_number(nth);
        if (!k || *k < 1 || *k > 5) {
          return fail(f, col, "'#" + std::string(nth) + "': the nth weekday must be 1-5 or L");
        }
        bits |= static_cast<std::uint8_t>(1u << (*k - 1));
      }
      return true;
    }
    if (v < kMin[f] + kOffset[f] || v > kMax[f] + kOffset[f]) {
      return fail(f, col, out_of_range(f, v));
    }
    auto u = static_cast<unsigned>(v);
    switch (f) {
      case kSecond:
        expr_.seconds_ |= std::uint64_t{1} << u;
        break;
      case kMinute:
        expr_.minutes_ |= std::uint64_t{1} << u;
        break;
      case kHour:
        expr_.hours_ |= std::uint32_t{1} << u;
        break;
      case kDom:
        expr_.days_ |= std::uint32_t{1} << (u + 1);
        break;
      case kMonth:
        expr_.months_ |= static_cast<std::uint16_t>(1u << (u + 1));
        break;
      case kYear:
        years_->set(static_cast<int>(v));
        break;
      default:
        break;
    }
    return true;
  }

  void fill_all(int f) {
    switch (f) {
      case kSecond:
        expr_.seconds_ = (std::uint64_t{1} << 60) - 1;
        break;
      case kMinute:
        expr_.minutes_ = (std::uint64_t{1} << 60) - 1;
        break;
      case kHour:
        expr_.hours_ = (1u << 24) - 1;
        break;
      case kDom:
        expr_.days_ = 0xfffffffe;
        break;
      case kMonth:
        expr_.months_ = 0x1ffe;
        break;
      case kDow:
        expr_.weekdays_.fill(63);
        break;
      case kYear:
        // "*" inside a list: every year, but without the year-3000 stop of a lone "*".
        // (croner also marks year 0, which no walk forward from year 1 can reach.)
        for (int y = 1; y <= YearSet::kMax; ++y)
          years_->set(y);
        break;
      default:
        break;
    }
  }

  void finish() {
    auto single = [](const Part& p, int count) {
      return !contains(p.text, '*') && !contains(p.text, '/') && count == 1;
    };
    expr_.fixed_time_ = single(parts_[kSecond], std::popcount(expr_.seconds_)) &&
                        single(parts_[kMinute], std::popcount(expr_.minutes_)) &&
                        single(parts_[kHour], std::popcount(expr_.hours_));
    expr_.years_ = std::move(years_);
    for (unsigned w = 0; w < 7; ++w) {
      auto& bits = expr_.weekdays_[w];
      // Every one of the five possible occurrences means every such weekday.
      if ((bits & 31) == 31) {
        bits = 63;
        expr_.every_weekday_ |= static_cast<std::uint8_t>(1u << w);
      } else if (bits) {
        expr_.nth_weekday_ |= static_cast<std::uint8_t>(1u << w);
      }
    }
    expr_.can_fire_ = expr_.compute_can_fire();
  }

  std::string_view text_;
  std::vector<Part> parts_;
  std::shared_ptr<YearSet> years_;
  CronExpr expr_;
  std::optional<ParseError> error_;
};

// ---- Matching --------------------------------------------------------------------------

int YearSet::next(int y) const {
  if (y < 0) y = 0;
  if (y > kMax) return -1;
  auto word = static_cast<std::size_t>(y / 64);
  std::uint64_t w = bits[word] & (~std::uint64_t{0} << (y % 64));
  for (;;) {
    if (w) {
      int found = static_cast<int>(word * 64) + std::countr_zero(w);
      return found <= kMax ? found : -1;
    }
    if (++word == bits.size()) return -1;
    w = bits[word];
  }
}

std::string ParseError::describe() const {
  return field + ": " + message;
}

std::expected<CronExpr, ParseError> CronExpr::parse(std::string_view text) {
  return Parser{text}.run();
}

bool CronExpr::operator==(const CronExpr& o) const {
  bool same_years = (!years_ && !o.years_) || (years_ && o.years_ && *years_ == *o.years_);
  return seconds_ == o.seconds_ && minutes_ == o.minutes_ && hours_ == o.hours_ &&
         days_ == o.days_ && nearest_ == o.nearest_ && months_ == o.months_ &&
         weekdays_ == o.weekdays_ && same_years && last_day_ == o.last_day_ &&
         last_weekday_ == o.last_weekday_ && star_dom_ == o.star_dom_ && star_dow_ == o.star_dow_ &&
         star_year_ == o.star_year_ && and_logic_ == o.and_logic_ && fixed_time_ == o.fixed_time_;
}

std::uint32_t CronExpr::day_mask(int y, unsigned m) const {
  return days_matching(days_in_month(y, m), weekday{sys_days{year{y} / month{m} / 1}}.c_encoding());
}

std::uint32_t CronExpr::days_matching(int len, unsigned first_wd) const {
  const std::uint32_t valid = ((std::uint32_t{1} << len) - 1) << 1;
  auto wd = [first_wd](int d) { return (first_wd + static_cast<unsigned>(d) - 1) % 7; };

  std::uint32_t dom = days_ & valid;
  for (std::uint32_t n = nearest_; n; n &= n - 1) {
    int d = std::countr_zero(n);
    if (d > len) continue;
    // Nearest weekday, never leaving the month.
    unsigned w = wd(d);
    int target = w == 0 ? (d == len ? d - 2 : d + 1) : w == 6 ? (d == 1 ? d + 2 : d - 1) : d;
    dom |= std::uint32_t{1} << target;
  }
  if (last_weekday_) {
    unsigned w = wd(len);
    dom |= std::uint32_t{1} << (w == 0 ? len - 2 : w == 6 ? len - 1 : len);
  }
  if (last_day_) dom |= std::uint32_t{1} << len;
  if (star_dow_) return dom;

  // Weekdays wanted in every week: rotate the set so that bit k stands for day k + 1 of
  // this month, then repeat it every seven days with one multiplication.
  const std::uint32_t rotated = ((std::uint32_t{every_weekday_} >> first_wd) |
                                 (std::uint32_t{every_weekday_} << (7 - first_wd))) &
                                0x7f;
  constexpr std::uint32_t kWeekly = 1u | 1u << 7 | 1u << 14 | 1u << 21 | 1u << 28;
  std::uint32_t dow = (rotated * kWeekly) << 1 & valid;
  // The rest name occurrences: 2nd Monday, last Friday.
  for (unsigned rest = nth_weekday_; rest; rest &= rest - 1) {
    const auto w = static_cast<unsigned>(std::countr_zero(rest));
    const unsigned bits = weekdays_[w];
    const int first = 1 + static_cast<int>((w + 7 - first_wd) % 7);
    const int last = first + 7 * ((len - first) / 7);
    for (int k = 0, d = first; d <= len; ++k, d += 7) {
      if ((bits >> k) & 1) dow |= std::uint32_t{1} << d;
    }
    if (bits & 32) dow |= std::uint32_t{1} << last;
  }
  if (and_logic_ || star_dom_) return dom & dow;
  return dom | dow;
}

bool CronExpr::compute_can_fire() const {
  if (!seconds_ || !minutes_ || !hours_ || !months_) return false;
  // A year's matching days depend only on whether it is a leap year and on the weekday
  // it starts with: 14 kinds of year. Check each kind that the year field allows once.
  auto year_fires = [this](int y) {
    for (unsigned m = 1; m <= 12; ++m) {
      if ((months_ >> m) & 1 && day_mask(y, m)) return true;
    }
    return false;
  };
  std::array<bool, 14> seen{};
  for (int y = years_ ? years_->next(1) : 2001; y > 0; y = years_ ? years_->next(y + 1) : y + 1) {
    if (!years_ && y > 2028) break;  // 2001-2028 hold all 14 kinds
    std::size_t kind = weekday_of(y, 1, 1) + (year{y}.is_leap() ? 7 : 0);
    if (seen[kind]) continue;
    seen[kind] = true;
    if (year_fires(y)) return true;
    if (std::all_of(seen.begin(), seen.end(), [](bool b) { return b; })) break;
  }
  return false;
}

namespace {

// How a wall-clock time maps onto UTC.
struct Resolved {
  enum Kind { single, ambiguous, gap } kind;
  std::int64_t a;  // single: the instant; ambiguous: the earlier one; gap: the one before
  std::int64_t b;  // ambiguous: the later one; gap: the one after
};

// croner's classification of a wall-clock time, including its probes three hours either
// side, so that odd zones come out exactly as croner has them.
Resolved resolve(ZoneCursor& zone, std::int64_t local) {
  constexpr std::int64_t kProbe = 3 * 3600;
  auto off = [&zone](std::int64_t t) { return zone.offset_at(t); };
  const std::int64_t n = local - off(local);
  const std::int32_t on = off(n);
  if (n + on == local) {
    std::int64_t o = n - (off(n - kProbe) - on);
    if (o < n && o + off(o) == local) return {Resolved::ambiguous, o, n};
    std::int64_t u = n + (on - off(n + kProbe));
    if (u > n && u + off(u) == local) return {Resolved::ambiguous, n, u};
    return {Resolved::single, n, 0};
  }
  const std::int64_t a = local - on;
  if (a + off(a) == local) return {Resolved::single, a, 0};
  return {Resolved::gap, std::min(n, a), std::max(n, a)};
}

}  // namespace

// Finds firing instants the way croner's _findOccurrence does: walk local wall-clock
// times that match the pattern, and map each onto UTC with croner's rules for times
// that happen twice or not at all.
class Walker {
 public:
  Walker(const CronExpr& e, ZoneCursor& zone, WalkCache& cache)
      : e_(e), zone_(zone), cache_(cache) {}

  std::optional<std::int64_t> next_after(std::int64_t t) {
    if (!e_.can_fire_ || t >= kLatest) return std::nullopt;
    t = std::max(t, kEarliest - 1);
    if (zone_.zone().fixed()) {
      std::int32_t o = off(t);
      auto l = next_local(t + o + 1);
      if (!l) return std::nullopt;
      return *l - o;
    }
    const std::int64_t lt = t + off(t);
    auto i = walk(lt, t, false);
    if (e_.fixed_time_) return i;
    // t lies in the first pass of a repeated hour: the walk above, in wall-clock time,
    // would miss the second pass, so walk again from the moment the clock turns back.
    Resolved r = resolve(lt);
    if (r.kind != Resolved::ambiguous || t >= r.b) return i;
    std::int64_t back = transition(t, t + kDay);
    if (i && back > *i) return i;
    auto h = walk(back + off(back), back - 1, true);
    if (!i) return h;
    if (!h) return i;
    return std::min(*i, *h);
  }

 private:
  std::int32_t off(std::int64_t t) { return zone_.offset_at(t); }
  Resolved resolve(std::int64_t local) { return cron::resolve(zone_, local); }

  // First second after s at which the offset differs from the one at s (croner's bisection).
  std::int64_t transition(std::int64_t s, std::int64_t e) {
    const std::int32_t at_s = off(s);
    while (e - s > 1) {
      std::int64_t mid = s + (e - s) / 2;
      if (off(mid) == at_s) {
        s = mid;
      } else {
        e = mid;
      }
    }
    return e;
  }

  // The instant at which wall-clock time `local` fires, if after t.
  std::optional<std::int64_t> run_at(std::int64_t local, std::int64_t t) {
    Resolved r = resolve(local);
    switch (r.kind) {
      case Resolved::single:
        if (r.a > t) return r.a;
        return std::nullopt;
      case Resolved::ambiguous:
        if (r.a > t) return r.a;
        if (!e_.fixed_time_ && r.b > t) return r.b;
        return std::nullopt;
      case Resolved::gap: {
        if (!e_.fixed_time_) return std::nullopt;
        // A fixed time that the clock skips fires when the clock resumes, that same day.
        std::int64_t resume = transition(r.a, r.b);
        bool same_day = floor_div(resume + off(resume), kDay) == floor_div(local, kDay);
        if (same_day && resume > t) return resume;
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  std::optional<std::int64_t> walk(std::int64_t start, std::int64_t t, bool include_start) {
    for (auto l = next_local(include_start ? start : start + 1); l; l = next_local(*l + 1)) {
      if (auto at = run_at(*l, t)) return at;
    }
    return std::nullopt;
  }

  // Makes the cache describe (y, m) and returns its matching days.
  std::uint32_t month_mask(int y, unsigned m) {
    if (cache_.year != y || cache_.month != m) {
      const sys_days first{year{y} / month{m} / 1};
      const unsigned first_wd = weekday{first}.c_encoding();
      cache_.year = y;
      cache_.month = m;
      cache_.first_day = first.time_since_epoch().count();
      cache_.length = days_in_month(y, m);
      const auto key = static_cast<unsigned>(cache_.length - 28) * 7 + first_wd;
      if (!((cache_.known >> key) & 1)) {
        cache_.masks[key] = e_.days_matching(cache_.length, first_wd);
        cache_.known |= 1u << key;
      }
      cache_.mask = cache_.masks[key];
    }
    return cache_.mask;
  }

  static int next_bit(std::uint64_t mask, unsigned from_bit) {
    std::uint64_t rest = from_bit >= 64 ? 0 : mask & (~std::uint64_t{0} << from_bit);
    return rest ? std::countr_zero(rest) : -1;
  }

  // The earliest matching time of day at or after h:mi:s, in seconds, or -1.
  int next_time_of_day(unsigned h, unsigned mi, unsigned s) const {
    for (int hh = next_bit(e_.hours_, h); hh >= 0; hh = next_bit(e_.hours_, hh + 1u)) {
      const bool same_hour = static_cast<unsigned>(hh) == h;
      for (int mm = next_bit(e_.minutes_, same_hour ? mi : 0); mm >= 0;
           mm = next_bit(e_.minutes_, mm + 1u)) {
        const bool same_minute = same_hour && static_cast<unsigned>(mm) == mi;
        int ss = next_bit(e_.seconds_, same_minute ? s : 0);
        if (ss >= 0) return hh * 3600 + mm * 60 + ss;
      }
    }
    return -1;
  }

  // The earliest wall-clock time >= from that matches every field, or nullopt when the
  // years run out. Local times are seconds since 1970-01-01T00:00:00 on the wall clock.
  std::optional<std::int64_t> next_local(std::int64_t from) {
    const std::int64_t days_since = floor_div(from, kDay);
    int y;
    unsigned mo, d;
    if (cache_.month != 0 && days_since >= cache_.first_day &&
        days_since < cache_.first_day + cache_.length) {
      // Still in the month looked at last time: skip the calendar arithmetic.
      y = cache_.year;
      mo = cache_.month;
      d = static_cast<unsigned>(days_since - cache_.first_day + 1);
    } else {
      const year_month_day ymd{sys_days{days{days_since}}};
      y = static_cast<int>(ymd.year());
      mo = static_cast<unsigned>(ymd.month());
      d = static_cast<unsigned>(ymd.day());
    }
    int tod = static_cast<int>(from - days_since * kDay);  // 0: start of the day
    const int limit = e_.star_year_ ? 3000 : 10000;
    if (y < 1) {
      y = 1;
      mo = d = 1;
      tod = 0;
    }
    for (;;) {
      if (y >= limit) return std::nullopt;
      if (e_.years_) {
        int ny = e_.years_->next(y);
        if (ny < 0 || ny >= limit) return std::nullopt;
        if (ny != y) {
          y = ny;
          mo = d = 1;
          tod = 0;
        }
      }
      int m2 = next_bit(e_.months_, mo);
      if (m2 < 0) {
        ++y;
        mo = d = 1;
        tod = 0;
        continue;
      }
      if (static_cast<unsigned>(m2) != mo) {
        mo = static_cast<unsigned>(m2);
        d = 1;
        tod = 0;
      }
      const std::uint32_t mask = month_mask(y, mo);
      int d2 = next_bit(mask, d);
      int at = -1;
      if (d2 == static_cast<int>(d)) {
        // Today matches: the rest of today, or else the next matching day.
        at =
            next_time_of_day(static_cast<unsigned>(tod / 3600),
                             static_cast<unsigned>(tod / 60 % 60), static_cast<unsigned>(tod % 60));
        if (at < 0) d2 = next_bit(mask, d + 1);
      }
      if (at < 0 && d2 >= 0) at = next_time_of_day(0, 0, 0);  // a whole day always matches
      if (d2 < 0) {
        if (++mo > 12) {
          mo = 1;
          ++y;
        }
        d = 1;
        tod = 0;
        continue;
      }
      // month_mask() left the cache on this month.
      return (cache_.first_day + d2 - 1) * kDay + at;
    }
  }

  const CronExpr& e_;
  ZoneCursor& zone_;
  WalkCache& cache_;
};

std::optional<std::int64_t> CronExpr::next_after(std::int64_t t, ZoneCursor& zone,
                                                 WalkCache& cache) const {
  return Walker{*this, zone, cache}.next_after(t);
}

std::optional<Instant> CronExpr::next_after(Instant t, const Zone& zone) const {
  ZoneCursor cursor{zone};
  WalkCache cache;
  auto r = next_after(t.time_since_epoch().count(), cursor, cache);
  if (!r) return std::nullopt;
  return Instant{seconds{*r}};
}

std::vector<Instant> CronExpr::next_n(Instant t, const Zone& zone, std::size_t n) const {
  std::vector<Instant> out;
  ZoneCursor cursor{zone};
  WalkCache cache;
  std::int64_t at = t.time_since_epoch().count();
  while (out.size() < n) {
    auto r = next_after(at, cursor, cache);
    if (!r) break;
    out.emplace_back(seconds{*r});
    at = *r;
  }
  return out;
}

std::optional<Instant> CronExpr::prev_before(Instant t, const Zone& zone) const {
  if (!can_fire_) return std::nullopt;
  ZoneCursor cursor{zone};
  WalkCache cache;
  const std::int64_t end = std::min<std::int64_t>(t.time_since_epoch().count(), kLatest + 2 * kDay);
  if (end <= kEarliest) return std::nullopt;
  // next_after never decreases as its argument grows, so "next_after(x) < t" holds for
  // every x up to the last firing before t and for none after: gallop back to a point
  // where it holds, then bisect for the last one.
  auto fires_before_end = [&](std::int64_t x) {
    auto n = next_after(x, cursor, cache);
    return n && *n < end;
  };
  std::int64_t lo = end - 1;
  for (std::int64_t step = 1;; step *= 2) {
    lo = std::max(end - step, kEarliest - 1);
    if (fires_before_end(lo)) break;
    if (lo <= kEarliest - 1) return std::nullopt;
  }
  std::int64_t hi = end - 1;  // next_after(end - 1) >= end: it is strictly after end - 1
  while (hi - lo > 1) {
    std::int64_t mid = lo + (hi - lo) / 2;
    if (fires_before_end(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return Instant{seconds{*next_after(lo, cursor, cache)}};
}

std::optional<Instant> Schedule::next_after(Instant t) {
  auto r = expr_.next_after(t.time_since_epoch().count(), cursor_, cache_);
  if (!r) return std::nullopt;
  return Instant{seconds{*r}};
}

// ---- Canonical form --------------------------------------------------------------------

namespace {

// "*", "*/15", or runs such as "1-5,10,20-22"; values from lo to hi.
std::string render_set(std::uint64_t bits, int lo, int hi, bool allow_star) {
  const int count = hi - lo + 1;
  if (allow_star && std::popcount(bits) == count) return "*";
  if (lo == 0 && allow_star && (bits & 1)) {
    for (int step = 2; step <= count / 2; ++step) {
      std::uint64_t want = 0;
      for (int v = 0; v <= hi; v += step)
        want |= std::uint64_t{1} << v;
      if (want == bits) return "*/" + std::to_string(step);
    }
  }
  std::string out;
  for (int v = lo; v <= hi;) {
    if (!((bits >> v) & 1)) {
      ++v;
      continue;
    }
    int end = v;
    while (end + 1 <= hi && ((bits >> (end + 1)) & 1))
      ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(v);
    if (end - v >= 2) {
      out += '-' + std::to_string(end);
    } else if (end == v + 1) {
      out += ',' + std::to_string(end);
    }
    v = end + 1;
  }
  return out;
}

}  // namespace

std::string CronExpr::canonical() const {
  std::string sec = render_set(seconds_, 0, 59, true);
  std::string min = render_set(minutes_, 0, 59, true);
  std::string hour = render_set(hours_, 0, 23, true);
  if (!fixed_time_ && std::popcount(seconds_) == 1 && std::popcount(minutes_) == 1 &&
      std::popcount(hours_) == 1) {
    // Single values that came from a step ("*/60"): keep them an interval pattern, whose
    // DST rules differ from a fixed time's.
    sec += '-' + sec + "/1";
  }

  std::string dom;
  if (last_weekday_) {
    dom = "LW";
  } else if (star_dom_) {
    // "*,L" is '*' as croner sees it, L included; keep the L so the form reads back equal.
    dom = last_day_ ? "*,L" : "*";
  } else {
    dom = render_set(days_, 1, 31, false);
    for (std::uint32_t n = nearest_; n; n &= n - 1) {
      if (!dom.empty()) dom += ',';
      dom += std::to_string(std::countr_zero(n)) + "W";
    }
    if (last_day_) dom += dom.empty() ? "L" : ",L";
  }

  std::string mon = render_set(months_, 1, 12, true);

  std::string dow = and_logic_ ? "+" : "";
  if (star_dow_) {
    dow += "*";
  } else {
    std::uint64_t every = 0;
    for (unsigned w = 0; w < 7; ++w) {
      if ((weekdays_[w] & 31) == 31) every |= std::uint64_t{1} << w;
    }
    std::string list = render_set(every, 0, 6, false);
    for (unsigned w = 0; w < 7; ++w) {
      unsigned bits = weekdays_[w];
      if (!bits || (bits & 31) == 31) continue;
      for (unsigned k = 0; k < 5; ++k) {
        if ((bits >> k) & 1) {
          if (!list.empty()) list += ',';
          list += std::to_string(w) + "#" + std::to_string(k + 1);
        }
      }
      if (bits & 32) {
        if (!list.empty()) list += ',';
        list += std::to_string(w) + "L";
      }
    }
    dow += list;
  }

  std::string out = sec + ' ' + min + ' ' + hour + ' ' + dom + ' ' + mon + ' ' + dow;
  if (!star_year_) {
    std::string years;
    for (int y = years_->next(1); y >= 0;) {
      int end = y;
      while (end + 1 <= YearSet::kMax && years_->test(end + 1))
        ++end;
      if (!years.empty()) years += ',';
      years += std::to_string(y);
      if (end > y) years += '-' + std::to_string(end);
      y = end + 1 <= YearSet::kMax ? years_->next(end + 1) : -1;
    }
    out += ' ' + (years.empty() ? std::string("*/10000") : years);
  }
  return out;
}

std::string format_utc(Instant t) {
  const auto d = floor<days>(t);
  const year_month_day ymd{d};
  const hh_mm_ss hms{t - d};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

namespace {

struct TextReader {
  std::string_view s;
  bool done() const { return s.empty(); }
  bool take(char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
  }
  std::optional<int> digits(std::size_t n) {
    if (s.size() < n) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    s.remove_prefix(n);
    return v;
  }
};

}  // namespace

std::expected<Instant, std::string> parse_time(std::string_view text, const Zone& zone) {
  const std::string bad = "'" + std::string(text) +
                          "' is not an ISO-8601 time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM])";
  TextReader r{text};
  auto y = r.digits(4);
  if (!y || !r.take('-')) return std::unexpected(bad);
  auto mo = r.digits(2);
  if (!mo || !r.take('-')) return std::unexpected(bad);
  auto d = r.digits(2);
  if (!d) return std::unexpected(bad);
  int h = 0, mi = 0, sec = 0;
  if (r.take('T') || r.take('t') || r.take(' ')) {
    auto hh = r.digits(2);
    if (!hh || !r.take(':')) return std::unexpected(bad);
    auto mm = r.digits(2);
    if (!mm) return std::unexpected(bad);
    h = *hh;
    mi = *mm;
    if (r.take(':')) {
      auto ss = r.digits(2);
      if (!ss) return std::unexpected(bad);
      sec = *ss;
      // Fractions of a second: firing instants are whole seconds, and "strictly after"
      // a fraction is the same as strictly after its second.
      if (r.take('.') || r.take(',')) {
        std::size_t n = 0;
        while (n < r.s.size() && r.s[n] >= '0' && r.s[n] <= '9')
          ++n;
        if (n == 0) return std::unexpected(bad);
        r.s.remove_prefix(n);
      }
    }
  }
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                           day{static_cast<unsigned>(*d)}};
  if (*y < 1 || !ymd.ok() || h > 23 || mi > 59 || sec > 59) {
    return std::unexpected("'" + std::string(text) + "' is not a valid date and time");
  }
  const std::int64_t local =
      sys_days{ymd}.time_since_epoch().count() * kDay + h * 3600 + mi * 60 + sec;

  if (r.take('Z') || r.take('z')) {
    if (!r.done()) return std::unexpected(bad);
    return Instant{seconds{local}};
  }
  if (!r.done()) {
    int sign = r.take('+') ? 1 : (r.take('-') ? -1 : 0);
    auto oh = r.digits(2);
    if (sign == 0 || !oh) return std::unexpected(bad);
    r.take(':');
    auto om = r.digits(2);
    if (!om || !r.done() || *oh > 23 || *om > 59) return std::unexpected(bad);
    return Instant{seconds{local - sign * (*oh * 3600 + *om * 60)}};
  }
  // No offset: wall-clock time in the zone; the first pass of a repeated time, and for a
  // skipped one the instant the same reading would have had on the old offset.
  ZoneCursor cursor{zone};
  Resolved res = resolve(cursor, local);
  return Instant{seconds{res.kind == Resolved::gap ? res.b : res.a}};
}

}  // namespace cronkit::cron
