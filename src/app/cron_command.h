#pragma once

#include <CLI/CLI.hpp>

namespace cronkit::app {

/// Adds `cron next` and `cron check` to the command line. The exit code of the chosen
/// command is written to `exit_code` when it runs.
void add_cron_commands(CLI::App& app, int& exit_code);

}  // namespace cronkit::app
