#pragma once
// What the command-line client prints for people: tables that fit the terminal, times in
// the local zone, runs relative to now, colours only on a terminal.

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace cronkit::client {

/// Whether standard output is a terminal that takes colours (not with NO_COLOR or
/// TERM=dumb).
bool colours();
/// The terminal's width in columns, or 0 when standard output is not a terminal.
int terminal_width();

/// `text` in an ANSI colour (31 red, 32 green, 33 yellow, 2 dim) when `on`.
std::string paint(std::string_view text, int colour, bool on);

/// An instant (epoch ms) in the local time zone: "2026-12-02 07:30:00".
std::string local_time(std::int64_t ms);
/// How far `at` is from `now`: "in 4m 10s", "2h 5m ago", "now".
std::string relative(std::int64_t at, std::int64_t now);

/// Columns aligned by their widest cell. Given a width, the columns marked to shrink lose
/// characters (ending "…") until the table fits, down to their header's width.
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> shrinks = {});
  void add(std::vector<std::string> row);
  /// The headers (unless all are empty), then each row on its line, with two spaces
  /// between columns; `width` 0: no limit.
  void print(std::ostream& out, int width) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> shrinks_;
  std::vector<std::vector<std::string>> rows_;
};

/// Columns `text` takes on a terminal: its UTF-8 characters (ANSI colour codes take none).
std::size_t display_width(std::string_view text);

}  // namespace cronkit::client
