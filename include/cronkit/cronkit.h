#pragma once

#include "cronkit/registry.h"

namespace cronkit {

/// Runs the cronkit program — the same commands and options as the standard `cronkit`
/// binary — with the functions in `registry` available to function tasks, next to the
/// built-in ones. Returns the process exit code.
///   int main(int argc, char** argv) {
///     cronkit::Registry functions;
///     functions.add("greet", [](const cronkit::TaskContext&) {
///       return cronkit::TaskResult{true, "hello"};
///     });
///     return cronkit::run(argc, argv, functions);
///   }
int run(int argc, char** argv, Registry& registry);

}  // namespace cronkit
