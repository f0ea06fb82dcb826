#include "store/open_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite.h"
#include "store/sqlite/sqlite_store.h"

namespace cronkit::store {
namespace {

// What SQLite's "unable to open database file" leaves out, when it is the reason: the file
// or its directory cannot be written (SQLite writes the -wal and -shm files beside it).
std::string why_not_writable(const std::string& path) {
  if (path == ":memory:") return "";
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path file{path};
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path{"."};
  for (const fs::path& p : {file, dir}) {
    if (!fs::exists(p, ec)) continue;
    if (::access(p.c_str(), W_OK) != 0) {
      const int err = errno;
      return " (" + p.string() + " cannot be written: " + std::strerror(err) +
             "; the database needs write access to its file and directory)";
    }
  }
  return "";
}

// The store a URL names, opened and migrated. Throws StoreError.
std::expected<std::unique_ptr<Store>, std::string> open(std::string_view url,
                                                        MigrationReport* report) {
  constexpr std::string_view kSqlite = "sqlite:";
  try {
    if (url.starts_with(kSqlite)) {
      std::string path{url.substr(kSqlite.size())};
      if (path.empty()) {
        return std::unexpected("database URL '" + std::string(url) + "' has no path");
      }
      try {
        auto store = std::make_unique<SqliteStore>(path);
        if (report) *report = store->migration_report();
        return store;
      } catch (const StoreError& e) {
        return std::unexpected(path + ": " + e.what() + why_not_writable(path));
      }
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
      auto store = std::make_unique<PostgresStore>(std::string(url));
      if (report) *report = store->migration_report();
      return store;
    }
  } catch (const StoreError& e) {
    return std::unexpected(std::string(e.what()));
  }
  return std::unexpected("unsupported database URL '" + std::string(url) +
                         "': expected sqlite:PATH, sqlite::memory: or postgresql://...");
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string out{url};
  // postgresql://user:secret@host/...
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto authority = scheme + 3;
    // The last @ before the path ends the user part (a careless password may hold one).
    const auto end = out.find_first_of("/?", authority);
    const auto at = out.rfind('@', end == std::string::npos ? std::string::npos : end - 1);
    if (at != std::string::npos && at >= authority) {
      const auto colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ...?password=secret&...
  for (std::size_t p = out.find("password="); p != std::string::npos;
       p = out.find("password=", p + 1)) {
    if (p > 0 && out[p - 1] != '?' && out[p - 1] != '&') continue;
    const auto value = p + 9;
    out.replace(value,
                out.find('&', value) == std::string::npos ? std::string::npos
                                                          : out.find('&', value) - value,
                "***");
  }
  return out;
}

std::expected<std::unique_ptr<Store>, std::string> open_store(std::string_view url) {
  return open(url, nullptr);
}

std::expected<MigrationReport, std::string> migrate(std::string_view url) {
  MigrationReport report;
  auto store = open(url, &report);
  if (!store) return std::unexpected(store.error());
  return report;
}

std::expected<BackupReport, std::string> backup(std::string_view url, const std::string& to) {
  namespace fs = std::filesystem;
  constexpr std::string_view kSqlite = "sqlite:";
  if (!url.starts_with(kSqlite)) {
    return std::unexpected(
        "backup copies a SQLite database (sqlite:PATH); back PostgreSQL up with pg_dump");
  }
  const std::string path{url.substr(kSqlite.size())};
  std::error_code ec;
  if (path.empty() || path == ":memory:" || !fs::is_regular_file(path, ec)) {
    return std::unexpected("no SQLite database at '" + path + "'");
  }
  // Made here, empty and readable by its owner alone (the database holds channels'
  // secrets), and never over an existing file; VACUUM INTO fills an empty file.
  const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    return std::unexpected(
        to + ": " +
        (err == EEXIST ? std::string("exists already: give a new file") : std::strerror(err)));
  }
  ::close(fd);
  try {
    {
      sqlite::Database source{path};
      source.exec("PRAGMA busy_timeout = 5000");
      sqlite::Use copy{source.prepare("VACUUM INTO ?")};
      copy->bind(1, std::string_view{to});
      copy->run();
    }
    sqlite::Database copy{to, sqlite::Database::Mode::read_only};
    sqlite::Use check{copy.prepare("PRAGMA integrity_check")};
    if (!check->step() || check->text_view(0) != "ok") {
      std::string why =
          to + ": the copy failed its integrity check: " + std::string(check->text_view(0));
      fs::remove(to, ec);
      return std::unexpected(std::move(why));
    }
    BackupReport report;
    report.bytes = static_cast<std::int64_t>(fs::file_size(to));
    sqlite::Use tasks{copy.prepare("SELECT count(*) FROM scheduled_tasks")};
    if (tasks->step()) report.tasks = tasks->int64(0);
    sqlite::Use executions{copy.prepare("SELECT count(*) FROM task_execution_logs")};
    if (executions->step()) report.executions = executions->int64(0);
    return report;
  } catch (const StoreError& e) {
    fs::remove(to, ec);  // no half copy left behind
    return std::unexpected(std::string(e.what()));
  }
}

}  // namespace cronkit::store
