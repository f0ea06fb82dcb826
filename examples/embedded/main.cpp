// A cronkit of your own: the standard program, with your functions available to
// "function" tasks next to the built-in ones.
//   build/examples/embedded/cronkit_embedded serve --db sqlite:./data/cronkit.db
#include <chrono>
#include <string>
#include <thread>

#include "cronkit/cronkit.h"

int main(int argc, char** argv) {
  cronkit::Registry functions;

  // {"ms": 250}: waits that long, or less if asked to stop.
  functions.add("sleep", [](const cronkit::TaskContext& ctx) {
    const auto* ms = ctx.payload.is_object() ? ctx.payload.as_object().if_contains("ms") : nullptr;
    const auto wait = std::chrono::milliseconds{ms && ms->is_int64() ? ms->as_int64() : 100};
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (ctx.stop.stop_requested()) return cronkit::TaskResult{false, "stopped early"};
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    return cronkit::TaskResult{true, "slept " + std::to_string(wait.count()) + " ms"};
  });

  functions.add("greet", [](const cronkit::TaskContext& ctx) {
    return cronkit::TaskResult{true, "hello from " + std::string(ctx.task_name)};
  });

  return cronkit::run(argc, argv, functions);
}
