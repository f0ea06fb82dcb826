// Computes N successive firing instants of each pattern in a zone and prints the rate,
// one tab-separated line per pattern: pattern, zone, instants, seconds, instants/s.
//   cronkit_cron_throughput ZONE N < patterns.txt
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "cron/cron_expr.h"
#include "cron/zone.h"

int main(int argc, char** argv) {
  using namespace cronkit::cron;
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " ZONE N < patterns\n";
    return 2;
  }
  auto zone = Zone::find(argv[1]);
  if (!zone) {
    std::cerr << zone.error() << "\n";
    return 2;
  }
  const long n = std::atol(argv[2]);
  const Instant start{std::chrono::seconds{1767225600}};  // 2026-01-01T00:00:00Z
  std::string pattern;
  while (std::getline(std::cin, pattern)) {
    if (pattern.empty()) continue;
    auto expr = CronExpr::parse(pattern);
    if (!expr) {
      std::cerr << pattern << ": " << expr.error().describe() << "\n";
      return 2;
    }
    Schedule s{*expr, *zone};
    std::int64_t checksum = 0;
    auto begin = std::chrono::steady_clock::now();
    Instant t = start;
    for (long i = 0; i < n; ++i) {
      auto next = s.next_after(t);
      t = next ? *next : start;  // sparse patterns run out of years: start again
      checksum += t.time_since_epoch().count();
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::cout << pattern << '\t' << argv[1] << '\t' << n << '\t' << secs << '\t'
              << static_cast<long>(n / secs) << '\t' << (checksum & 0xffff) << std::endl;
  }
  return 0;
}
