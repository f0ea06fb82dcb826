#include "app/backup_command.h"

#include <iostream>
#include <memory>
#include <string>

#include "app/config_file.h"
#include "store/open_store.h"

namespace cronkit::app {

void add_backup_command(CLI::App& app, int& exit_code) {
  auto db = std::make_shared<std::string>("sqlite:./data/cronkit.db");
  auto to = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "backup",
      "Copy the SQLite database to a new file, also while servers use it (one consistent "
      "snapshot; PostgreSQL: use pg_dump)");
  cmd->add_option("PATH", *to, "The new file (it must not exist)")->required();
  cmd->add_option("--db", *db, "Database URL: sqlite:PATH")
      ->envname("CRONKIT_DB")
      ->capture_default_str();
  add_config_option(*cmd, *config);
  cmd->callback([cmd, db, to, config, &exit_code] {
    // The server's config file, of which only `db` counts here.
    if (!read_config_file(*cmd, *config, UnknownKeys::kIgnored)) {
      exit_code = 2;
      return;
    }
    auto report = store::backup(*db, *to);
    if (!report) {
      std::cerr << "cronkit: backup: " << report.error() << "\n";
      exit_code = 1;
      return;
    }
    std::cout << "backed up " << store::redact_url(*db) << " to " << *to << ": " << report->bytes
              << " bytes, " << report->tasks << " tasks, " << report->executions
              << " executions; integrity check ok\n";
    exit_code = 0;
  });
}

}  // namespace cronkit::app
