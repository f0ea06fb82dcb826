#pragma once

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

}  // namespace cronkit::store
