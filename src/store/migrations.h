#pragma once

#include <string_view>
#include <vector>

namespace cronkit::store {

/// One schema change, applied in a transaction and recorded in schema_migrations.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// Every migration of the SQLite schema, in version order (embedded from the .sql files).
const std::vector<Migration>& sqlite_migrations();
/// The same for PostgreSQL.
const std::vector<Migration>& postgres_migrations();

}  // namespace cronkit::store
