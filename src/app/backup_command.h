#pragma once

#include <CLI/CLI.hpp>

namespace cronkit::app {

/// Adds `backup PATH`: copies the SQLite database to a new file, also while it is in use.
void add_backup_command(CLI::App& app, int& exit_code);

}  // namespace cronkit::app
