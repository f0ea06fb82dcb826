#include <CLI/CLI.hpp>

#include "app/backup_command.h"
#include "app/client_commands.h"
#include "app/cron_command.h"
#include "app/migrate_command.h"
#include "app/serve_command.h"
#include "core/version.h"
#include "cronkit/cronkit.h"

namespace cronkit {

int run(int argc, char** argv, Registry& registry) {
  CLI::App app{"cronkit: a scheduled-task server", "cronkit"};
  app.set_version_flag("--version", build_description(), "Print the version and commit, then exit");
  app.require_subcommand(1);
  int exit_code = 0;
  app::add_serve_command(app, registry, exit_code);
  app::add_migrate_command(app, exit_code);
  app::add_backup_command(app, exit_code);
  app::add_cron_commands(app, exit_code);
  app::add_client_commands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // Help and version are successes; every usage error exits 2, like a bad pattern.
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace cronkit
