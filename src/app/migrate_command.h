#pragma once

#include <CLI/CLI.hpp>

namespace cronkit::app {

/// Adds `migrate`: apply pending schema migrations to the database and report them.
void add_migrate_command(CLI::App& app, int& exit_code);

}  // namespace cronkit::app
