#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/store.h"

namespace cronkit::store {

/// Opens the store a URL names, applying pending migrations first:
///   sqlite:./data/cronkit.db   a file (its directory is created if missing)
///   sqlite::memory:            a private in-memory database, for tests
///   postgresql://user@host:port/database?...   PostgreSQL (libpq's URL; postgres:// too)
/// The only code that knows the concrete stores. Returns a message on failure, including
/// a database whose schema is newer than this program.
std::expected<std::unique_ptr<Store>, std::string> open_store(std::string_view url);

/// The URL with any password in it replaced by ***, for logs.
std::string redact_url(std::string_view url);

struct MigrationReport {
  int version_before = 0;
  int version_after = 0;
  std::vector<std::string> applied;  // names of the migrations applied now
};

/// Applies pending migrations to the store at `url` and says what it did.
std::expected<MigrationReport, std::string> migrate(std::string_view url);

struct BackupReport {
  std::int64_t bytes = 0;       // the copy's size
  std::int64_t tasks = 0;       // in the copy
  std::int64_t executions = 0;  // in the copy
};

/// Copies the SQLite database at `url` (sqlite:PATH) to the new file `to`, also while
/// servers use it: VACUUM INTO, one consistent snapshot taken in a read transaction, which
/// in WAL mode neither waits for the writer nor holds it up; the copy is then checked
/// (PRAGMA integrity_check). Refuses PostgreSQL (pg_dump backs it up), a missing database
/// and an existing `to`.
std::expected<BackupReport, std::string> backup(std::string_view url, const std::string& to);

}  // namespace cronkit::store
