#include "client/output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <numeric>

namespace cronkit::client {

bool colours() {
  const char* term = std::getenv("TERM");
  return isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr &&
         !(term && std::string_view{term} == "dumb");
}

int terminal_width() {
  if (isatty(STDOUT_FILENO) != 1) return 0;
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) return std::max(0, std::atoi(columns));
  return 80;
}

std::string paint(std::string_view text, int colour, bool on) {
  if (!on) return std::string(text);
  return "\x1b[" + std::to_string(colour) + "m" + std::string(text) + "\x1b[0m";
}

std::string local_time(std::int64_t ms) {
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
  return text;
}

std::string relative(std::int64_t at, std::int64_t now) {
  const std::int64_t seconds = (at > now ? at - now : now - at) / 1000;
  if (seconds == 0) return "now";
  std::string text;
  const std::int64_t days = seconds / 86400, hours = seconds % 86400 / 3600,
                     minutes = seconds % 3600 / 60, rest = seconds % 60;
  if (days > 0) {
    text = std::to_string(days) + "d" + (hours ? " " + std::to_string(hours) + "h" : "");
  } else if (hours > 0) {
    text = std::to_string(hours) + "h" + (minutes ? " " + std::to_string(minutes) + "m" : "");
  } else if (minutes > 0) {
    text = std::to_string(minutes) + "m" + (rest ? " " + std::to_string(rest) + "s" : "");
  } else {
    text = std::to_string(rest) + "s";
  }
  return at > now ? "in " + text : text + " ago";
}

std::size_t display_width(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {  // an ANSI sequence: ESC [ ... m
      while (i < text.size() && text[i] != 'm')
        ++i;
      continue;
    }
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {

// `text` cut to `width` columns, ending with "…" when cut (no colour codes in it).
std::string cut(const std::string& text, std::size_t width) {
  if (display_width(text) <= width) return text;
  std::string out;
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool starts = (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    if (starts && ++n > width - 1) break;
    out += text[i];
  }
  return out + "\u2026";
}

}  // namespace

Table::Table(std::vector<std::string> headers, std::vector<bool> shrinks)
    : headers_(std::move(headers)), shrinks_(std::move(shrinks)) {
  shrinks_.resize(headers_.size(), false);
}

void Table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out, int width) const {
  const std::size_t n = headers_.size();
  std::vector<std::size_t> widths(n);
  for (std::size_t c = 0; c < n; ++c) {
    widths[c] = display_width(headers_[c]);
    for (const auto& row : rows_)
      widths[c] = std::max(widths[c], display_width(row[c]));
  }
  auto total = [&] {
    return std::accumulate(widths.begin(), widths.end(), std::size_t{0}) + 2 * (n - 1);
  };
  // The widest column that may shrink gives up a column at a time.
  while (width > 0 && total() > static_cast<std::size_t>(width)) {
    std::size_t widest = n;
    for (std::size_t c = 0; c < n; ++c) {
      if (shrinks_[c] && widths[c] > std::max<std::size_t>(display_width(headers_[c]), 4) &&
          (widest == n || widths[c] > widths[widest])) {
        widest = c;
      }
    }
    if (widest == n) break;  // nothing more to give: the terminal wraps
    --widths[widest];
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < n; ++c) {
      const std::string cell = shrinks_[c] ? cut(cells[c], widths[c]) : cells[c];
      text += cell;
      if (c + 1 < n) text += std::string(widths[c] - display_width(cell) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out << text << "\n";
  };
  if (std::ranges::any_of(headers_, [](const std::string& h) { return !h.empty(); })) {
    line(headers_);
  }
  for (const auto& row : rows_)
    line(row);
}

}  // namespace cronkit::client
