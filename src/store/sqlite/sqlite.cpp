#include "store/sqlite/sqlite.h"

#include <sqlite3.h>

#include "core/store.h"

namespace cronkit::store::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  throw StoreError(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt_, nullptr) != SQLITE_OK) {
    fail(db, "prepare");
  }
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::busy() const {
  return sqlite3_stmt_busy(stmt_) != 0;
}

void Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_, "bind");
}

void Statement::bind(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    fail(db_, "bind");
  }
}

void Statement::bind(int index, const std::optional<std::string>& value) {
  if (value) {
    bind(index, std::string_view{*value});
  } else {
    bind_null(index);
  }
}

void Statement::bind(int index, const std::optional<std::int64_t>& value) {
  if (value) {
    bind(index, *value);
  } else {
    bind_null(index);
  }
}

void Statement::bind_borrowed(int index, std::string_view value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_STATIC) != SQLITE_OK) {
    fail(db_, "bind");
  }
}

void Statement::bind_borrowed(int index, const std::optional<std::string>& value) {
  if (value) {
    bind_borrowed(index, std::string_view{*value});
  } else {
    bind_null(index);
  }
}

void Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_, "bind");
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string message = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) throw ConstraintError("sqlite: " + message);
  throw StoreError("sqlite: " + message);
}

std::int64_t Statement::run() {
  while (step()) {
  }
  return sqlite3_changes64(db_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string{};
}

std::string_view Statement::text_view(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string_view{};
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

Database::Database(const std::string& path, Mode mode) {
  // SQLite's allocation statistics take a global mutex on every malloc and free; nothing
  // here reads them. This must precede SQLite's initialisation, so it is done once.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  int flags = (mode == Mode::read_only ? SQLITE_OPEN_READONLY
                                       : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
              SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError("cannot open " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

void Database::bound_wal(int restart_frames) {
  wal_restart_frames_ = restart_frames;
  sqlite3_wal_hook(db_, &Database::on_wal_commit, this);  // replaces the auto-checkpoint
}

int Database::on_wal_commit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* d = static_cast<Database*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (frames >= d->wal_restart_frames_ &&
      now - d->last_restart_ >= std::chrono::milliseconds{250}) {
    d->last_restart_ = now;
    sqlite3_busy_timeout(db, 100);
    // SQLITE_BUSY (a reader took longer) is fine: a commit 250 ms later tries again.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    sqlite3_busy_timeout(db, 5000);
  } else if (frames >= 1000) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  return SQLITE_OK;
}

Database::~Database() {
  statements_.clear();  // finalize before closing
  sqlite3_close(db_);
}

void Database::exec(std::string_view sql) {
  char* error = nullptr;
  std::string text{sql};
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw StoreError("sqlite: " + message);
  }
}

Statement& Database::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    it = statements_.emplace(std::string(sql), std::make_unique<Statement>(db_, sql)).first;
  }
  it->second->reset();
  return *it->second;
}

void Database::finish_statements() {
  for (auto& [sql, statement] : statements_) {
    if (statement->busy()) statement->reset();
  }
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (const StoreError&) {
    // A failed COMMIT or an I/O error may already have ended the transaction.
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

ReadTransaction::ReadTransaction(Database& db) : db_(db) {
  db_.exec("BEGIN");
}

ReadTransaction::~ReadTransaction() {
  try {
    db_.finish_statements();
    db_.exec("ROLLBACK");  // nothing was written: ends the snapshot
  } catch (const StoreError&) {
    // An I/O error may already have ended the transaction.
  }
}

}  // namespace cronkit::store::sqlite
