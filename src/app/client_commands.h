#pragma once

#include <CLI/CLI.hpp>

namespace cronkit::app {

/// Adds the commands that talk to a running server over its REST API (docs/cli.md):
/// `apply`, `export`, `tasks list|get|create|update|delete|run|pause|resume`,
/// `executions list|get|follow` and `stats`. Each sets `exit_code` (client::Exit).
void add_client_commands(CLI::App& app, int& exit_code);

}  // namespace cronkit::app
