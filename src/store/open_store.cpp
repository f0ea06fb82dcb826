#include "store/open_store.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/postgres/postgres_store.h"
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

}  // namespace cronkit::store
