#include "app/cron_command.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace cronkit::app {
namespace {

constexpr int kUsageError = 2;

struct CronOptions {
  std::string pattern;
  std::string zone = "UTC";
  std::string from;
  std::size_t count = 1;
};

// Prints the parser's message with a caret under the column it names.
void print_parse_error(const std::string& pattern, const cron::ParseError& e) {
  std::cerr << "cronkit: " << e.describe() << "\n";
  if (e.column > 0) {
    std::cerr << "  " << pattern << "\n  ";
    int col = 1;
    for (std::size_t i = 0; i < pattern.size() && col < e.column; ++i) {
      if ((static_cast<unsigned char>(pattern[i]) & 0xc0) != 0x80) {
        std::cerr << (pattern[i] == '\t' ? '\t' : ' ');
        ++col;
      }
    }
    std::cerr << "^\n";
  }
}

int run_next(const CronOptions& o) {
  auto expr = cron::CronExpr::parse(o.pattern);
  if (!expr) {
    print_parse_error(o.pattern, expr.error());
    return kUsageError;
  }
  auto zone = cron::Zone::find(o.zone);
  if (!zone) {
    std::cerr << "cronkit: --tz: " << zone.error() << "\n";
    return kUsageError;
  }
  cron::Instant from = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (!o.from.empty()) {
    auto parsed = cron::parse_time(o.from, **zone);
    if (!parsed) {
      std::cerr << "cronkit: --from: " << parsed.error() << "\n";
      return kUsageError;
    }
    from = *parsed;
  }
  cron::Schedule schedule{std::move(*expr), *zone};
  std::string out;
  std::size_t printed = 0;
  for (cron::Instant at = from; printed < o.count; ++printed) {
    auto t = schedule.next_after(at);
    if (!t) break;
    out += cron::format_utc(*t);
    out += '\n';
    at = *t;
  }
  std::cout << out << std::flush;
  if (printed < o.count) {
    std::cerr << "cronkit: no " << (printed == 0 ? "" : "further ") << "run after "
              << (printed == 0 ? cron::format_utc(from) : "the last one shown") << "\n";
  }
  return 0;
}

int run_check(const CronOptions& o) {
  auto expr = cron::CronExpr::parse(o.pattern);
  if (!expr) {
    print_parse_error(o.pattern, expr.error());
    return kUsageError;
  }
  std::cout << expr->canonical() << "\n";
  if (!expr->can_fire()) std::cerr << "cronkit: note: this pattern can never fire\n";
  return 0;
}

}  // namespace

void add_cron_commands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<CronOptions>();
  CLI::App* cron = app.add_subcommand("cron", "Work with cron patterns");
  cron->require_subcommand(1);

  CLI::App* next = cron->add_subcommand(
      "next", "Print the next firing instants of a pattern, one per line, in UTC");
  next->add_option("pattern", options->pattern, "Cron pattern, e.g. '0 9 * * MON-FRI'")->required();
  next->add_option("--count,-n", options->count, "How many instants to print")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  next->add_option("--tz", options->zone, "IANA time zone the pattern is read in")
      ->capture_default_str();
  next->add_option("--from", options->from,
                   "Start after this ISO-8601 instant (default: now); without an offset it "
                   "is wall-clock time in --tz");
  next->callback([options, &exit_code] { exit_code = run_next(*options); });

  CLI::App* check = cron->add_subcommand(
      "check", "Validate a pattern: print its canonical form, or the error and exit 2");
  check->add_option("pattern", options->pattern, "Cron pattern")->required();
  check->callback([options, &exit_code] { exit_code = run_check(*options); });
}

}  // namespace cronkit::app
