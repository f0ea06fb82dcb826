#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cronkit::store::sqlite {

/// A statement broke a constraint that ON CONFLICT does not cover (a foreign key, a
/// CHECK); the statement is undone, the transaction goes on.
class ConstraintError : public StoreError {
 public:
  using StoreError::StoreError;
};

/// A prepared statement. Errors throw StoreError with SQLite's message.
///   auto& s = db.prepare("SELECT name FROM t WHERE id = ?");
///   s.reset(); s.bind(1, id); while (s.step()) use(s.text(0));
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Ready for new bindings and a new run.
  void reset();
  void bind(int index, std::int64_t value);
  void bind(int index, std::string_view value);
  void bind(int index, const std::optional<std::string>& value);
  void bind(int index, const std::optional<std::int64_t>& value);
  void bind_null(int index);
  /// Binds text without copying it: `value` must stay alive and unchanged until reset().
  void bind_borrowed(int index, std::string_view value);
  void bind_borrowed(int index, const std::optional<std::string>& value);

  /// Returns true while there is a row to read.
  bool step();
  /// Runs a statement that returns no rows, and returns how many rows it changed.
  std::int64_t run();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// One connection. Not thread-safe: the owner serialises use.
class Database {
 public:
  /// Opens (creating if needed) the file at `path`, or ":memory:". Throws StoreError.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs one or more statements that return nothing.
  void exec(std::string_view sql);
  /// A statement prepared once and kept for the life of the connection.
  Statement& prepare(std::string_view sql);

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

/// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace cronkit::store::sqlite
