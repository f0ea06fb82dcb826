// Feeds arbitrary bytes to the cron parser, and for every pattern it accepts checks the
// engine's promises: the canonical form round-trips, instants move strictly forward, and
// every search ends quickly (libFuzzer's -timeout catches one that does not).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace {

using cronkit::cron::CronExpr;
using cronkit::cron::Instant;
using cronkit::cron::Zone;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto expr = CronExpr::parse(text);
  if (!expr) {
    check(!expr.error().field.empty() && !expr.error().message.empty());
    return 0;
  }
  auto again = CronExpr::parse(expr->canonical());
  check(again.has_value() && *again == *expr && again->canonical() == expr->canonical());

  // A start instant taken from the input, anywhere from 1900 to 3100.
  std::uint64_t h = 1469598103934665603ull;
  for (auto b : text)
    h = (h ^ static_cast<unsigned char>(b)) * 1099511628211ull;
  const std::int64_t start = -2208988800 + static_cast<std::int64_t>(h % 37869120000ull);
  static const auto ny = *Zone::find("America/New_York");
  static const auto lord_howe = *Zone::find("Australia/Lord_Howe");
  for (const Zone* zone : {Zone::utc().get(), ny.get(), lord_howe.get()}) {
    Instant t{std::chrono::seconds{start}};
    auto runs = expr->next_n(t, *zone, 5);
    check(runs.empty() || expr->can_fire());
    for (auto r : runs) {
      check(r > t);
      t = r;
    }
  }
  if (h % 16 == 0 && expr->can_fire()) {
    Instant t{std::chrono::seconds{start}};
    if (auto p = expr->prev_before(t, *ny)) {
      check(*p < t);
      auto n = expr->next_after(*p, *ny);
      check(!n || *n >= t);  // nothing after p, or the first run at or after t
    }
  }
  return 0;
}
