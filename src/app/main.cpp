#include <CLI/CLI.hpp>

#include "app/cron_command.h"
#include "app/migrate_command.h"

int main(int argc, char** argv) {
  CLI::App app{"cronkit: a scheduled-task server", "cronkit"};
  app.require_subcommand(1);
  int exit_code = 0;
  cronkit::app::add_cron_commands(app, exit_code);
  cronkit::app::add_migrate_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // Help and version are successes; every usage error exits 2, like a bad pattern.
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
