// Parse and next_after over a representative set of patterns, in UTC and New York.
//   build/bench/cronkit_cron_bench
#include <benchmark/benchmark.h>

#include <array>

#include "cron/cron_expr.h"
#include "cron/zone.h"

namespace {

using namespace cronkit::cron;

constexpr std::array<const char*, 8> kPatterns = {
    "* * * * * *",  "*/5 * * * *",   "0 30 9 * * MON-FRI", "0 */15 0-3 * * *",
    "0 0 12 L * *", "0 0 9 * * 1#2", "0 0 0 15W * *",      "0 0 0 29 2 * 2024-2100/4",
};

void BM_Parse(benchmark::State& state) {
  const char* pattern = kPatterns[static_cast<std::size_t>(state.range(0))];
  state.SetLabel(pattern);
  for (auto _ : state)
    benchmark::DoNotOptimize(CronExpr::parse(pattern));
}
BENCHMARK(BM_Parse)->DenseRange(0, kPatterns.size() - 1);

// Successive instants through one Schedule, restarting when a pattern runs out of years.
void next_after(benchmark::State& state, const char* zone_name) {
  const char* pattern = kPatterns[static_cast<std::size_t>(state.range(0))];
  state.SetLabel(pattern);
  Schedule s{*CronExpr::parse(pattern), *Zone::find(zone_name)};
  const Instant start{std::chrono::seconds{1767225600}};  // 2026-01-01
  Instant t = start;
  for (auto _ : state) {
    auto n = s.next_after(t);
    t = n ? *n : start;
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_NextUtc(benchmark::State& state) {
  next_after(state, "UTC");
}
void BM_NextNewYork(benchmark::State& state) {
  next_after(state, "America/New_York");
}
BENCHMARK(BM_NextUtc)->DenseRange(0, kPatterns.size() - 1);
BENCHMARK(BM_NextNewYork)->DenseRange(0, kPatterns.size() - 1);

// One-off calls, as the scheduler makes them: a fresh cursor every time.
void BM_NextOneOffNewYork(benchmark::State& state) {
  auto expr = *CronExpr::parse("0 30 9 * * MON-FRI");
  auto ny = *Zone::find("America/New_York");
  Instant t{std::chrono::seconds{1767225600}};
  for (auto _ : state) {
    auto n = expr.next_after(t, *ny);
    t = n ? *n : Instant{std::chrono::seconds{1767225600}};
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_NextOneOffNewYork);

void BM_PrevBeforeNewYork(benchmark::State& state) {
  auto expr = *CronExpr::parse("0 30 9 * * MON-FRI");
  auto ny = *Zone::find("America/New_York");
  const Instant t{std::chrono::seconds{1767225600}};
  for (auto _ : state)
    benchmark::DoNotOptimize(expr.prev_before(t, *ny));
}
BENCHMARK(BM_PrevBeforeNewYork);

}  // namespace

BENCHMARK_MAIN();
