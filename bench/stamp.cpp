// The first thing it does is read the clock: a program for measuring how soon after its
// instant a command task's program runs (engine_load command-lag). Linked statically, so
// that no dynamic loading comes between exec and main. Prints nanoseconds since the epoch.
#include <time.h>

#include <cstdio>

int main() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  std::printf("%lld\n", static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec);
  return 0;
}
