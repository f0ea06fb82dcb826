#include "app/migrate_command.h"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "app/config_file.h"
#include "store/open_store.h"

namespace cronkit::app {

void add_migrate_command(CLI::App& app, int& exit_code) {
  auto db = std::make_shared<std::string>("sqlite:./data/cronkit.db");
  CLI::App* cmd = app.add_subcommand("migrate", "Apply pending database schema migrations");
  cmd->add_option("--db", *db, "Database URL: sqlite:PATH or postgresql://USER@HOST:PORT/DB")
      ->envname("CRONKIT_DB")
      ->capture_default_str();
  auto config = std::make_shared<std::string>();
  add_config_option(*cmd, *config);
  cmd->callback([cmd, db, config, &exit_code] {
    // The server's config file, of which only `db` counts here.
    if (!read_config_file(*cmd, *config, UnknownKeys::kIgnored)) {
      exit_code = 2;
      return;
    }
    auto report = store::migrate(*db);
    if (!report) {
      std::cerr << "cronkit: migrate: " << report.error() << "\n";
      exit_code = 1;
      return;
    }
    for (const auto& name : report->applied)
      std::cout << "applied " << name << "\n";
    std::cout << "schema version " << report->version_after
              << (report->applied.empty() ? " (up to date)" : "") << "\n";
    exit_code = 0;
  });
}

}  // namespace cronkit::app
