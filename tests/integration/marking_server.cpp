// The standard cronkit with two functions that leave a trace outside the database, so
// that a test can tell which attempts started: each appends "<execution id> <attempt>" to
// the file named by its payload's "file" the moment it starts (one write(2) with O_APPEND:
// the line is in the file even if the process is killed right after).
//   "sleep": {"file": F, "ms": 300} then waits that long;
//   "crash": {"file": F} then kills its own process with SIGKILL, the way a crash would
//            come at the worst moment: just after an attempt started.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "cronkit/cronkit.h"

namespace {

void mark(const cronkit::TaskContext& ctx) {
  const auto& file = ctx.payload.at("file").as_string();
  const std::string line = std::string(ctx.execution_id) + " " + std::to_string(ctx.attempt) + "\n";
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open the mark file");
  const bool whole = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!whole) throw std::runtime_error("cannot write the mark file");
}

}  // namespace

int main(int argc, char** argv) {
  cronkit::Registry functions;
  functions.add("sleep", [](const cronkit::TaskContext& ctx) {
    mark(ctx);
    const auto* ms = ctx.payload.as_object().if_contains("ms");
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds{ms && ms->is_int64() ? ms->as_int64() : 100};
    while (std::chrono::steady_clock::now() < until) {
      if (ctx.stop.stop_requested()) return cronkit::TaskResult{false, "stopped early"};
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    return cronkit::TaskResult{true, "slept"};
  });
  functions.add("crash", [](const cronkit::TaskContext& ctx) {
    mark(ctx);
    ::kill(::getpid(), SIGKILL);
    return cronkit::TaskResult{false, "not killed"};
  });
  return cronkit::run(argc, argv, functions);
}
