#pragma once

#include <CLI/CLI.hpp>

#include "cronkit/registry.h"

namespace cronkit::app {

/// Adds `serve`: run the scheduler on the database until SIGINT or SIGTERM.
void add_serve_command(CLI::App& app, Registry& registry, int& exit_code);

}  // namespace cronkit::app
