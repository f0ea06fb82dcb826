// Reads the cases that generate.mjs wrote (what croner answered) and checks that cronkit
// answers the same: the same patterns rejected, the same next ten instants for the rest.
//
//   cronkit_differential_check cases.txt
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace {

using cronkit::cron::CronExpr;
using cronkit::cron::Instant;
using cronkit::cron::Zone;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{s};
  while (std::getline(in, item, sep))
    out.push_back(item);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::string join(const std::vector<std::int64_t>& xs) {
  std::string out;
  for (auto x : xs) {
    if (!out.empty()) out += ',';
    out += cronkit::cron::format_utc(Instant{std::chrono::seconds{x}});
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " CASES\n";
    return 2;
  }
  std::ifstream in{argv[1]};
  if (!in) {
    std::cerr << "cannot read " << argv[1] << "\n";
    return 2;
  }
  std::size_t passed = 0, failed = 0, accepted = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // The pattern is everything before the last three separators.
    auto last = line.rfind('|');
    auto third = line.rfind('|', last - 1);
    auto second = line.rfind('|', third - 1);
    const std::string pattern = line.substr(0, second);
    const std::string zone_name = line.substr(second + 1, third - second - 1);
    const std::int64_t from_ms = std::stoll(line.substr(third + 1, last - third - 1));
    const std::string want_text = line.substr(last + 1);

    auto zone = Zone::find(zone_name);
    if (!zone) {
      std::cerr << "zone " << zone_name << ": " << zone.error() << "\n";
      return 2;
    }
    auto expr = CronExpr::parse(pattern);
    std::string problem;
    if (want_text == "ERR") {
      if (expr) problem = "croner rejects it; cronkit accepts it as " + expr->canonical();
    } else if (!expr) {
      problem = "croner accepts it; cronkit rejects it: " + expr.error().describe();
    } else {
      ++accepted;
      std::vector<std::int64_t> want;
      for (const auto& s : split(want_text, ',')) {
        if (!s.empty()) want.push_back(std::stoll(s));
      }
      // Strictly after a fraction of a second is strictly after that whole second.
      std::int64_t from_s = from_ms >= 0 ? from_ms / 1000 : -((-from_ms + 999) / 1000);
      std::vector<std::int64_t> got;
      for (auto t : expr->next_n(Instant{std::chrono::seconds{from_s}}, **zone, 10)) {
        got.push_back(t.time_since_epoch().count());
      }
      if (got != want) problem = "croner: " + join(want) + "\n    cronkit: " + join(got);
    }
    if (problem.empty()) {
      ++passed;
      continue;
    }
    if (++failed <= 25) {
      std::cout << "MISMATCH '" << pattern << "' in " << zone_name << " from " << from_ms
                << " ms\n    " << problem << "\n";
    }
  }
  std::cout << "differential: " << accepted << " accepted patterns compared over 10 instants; "
            << (passed + failed - accepted) << " rejections compared\n";
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 && passed > 0 ? 0 : 1;
}
