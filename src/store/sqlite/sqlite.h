#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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
  /// True between the first step() and the reset() (or the last row).
  bool busy() const;
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
  /// The text of a column, valid until the next step() or reset().
  std::string_view text_view(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// A prepared statement for one use: reset (its bindings cleared, its read ended) when the
/// scope ends, however it ends.
///   sqlite::Use s{db.prepare(sql)};  s->bind(1, id);  while (s->step()) use(s->text(0));
class Use {
 public:
  explicit Use(Statement& s) : s_(s) {}
  ~Use() { s_.reset(); }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  Statement* operator->() const { return &s_; }
  Statement& operator*() const { return s_; }

 private:
  Statement& s_;
};

/// One connection. Not thread-safe: the owner serialises use.
class Database {
 public:
  enum class Mode { read_write, read_only };

  /// Opens the file at `path` (creating it if needed and `mode` allows), or ":memory:".
  /// Throws StoreError.
  explicit Database(const std::string& path, Mode mode = Mode::read_write);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs one or more statements that return nothing.
  void exec(std::string_view sql);
  /// A statement prepared once and kept for the life of the connection.
  Statement& prepare(std::string_view sql);
  /// Resets every statement still in a run, ending the reads that an exception cut short
  /// (an unfinished read keeps a snapshot open, which stops checkpoints).
  void finish_statements();
  /// Keeps the write-ahead log from growing without end while readers never pause (each
  /// keeps a snapshot, so SQLite's own checkpoints can copy pages back but never start the
  /// log over): once a commit leaves `restart_frames` pages in it, the writer waits up to
  /// 100 ms for the readers of the moment to finish and starts the log from the top, at
  /// most every 250 ms. Below that, the usual passive checkpoint every 1,000 pages.
  void bound_wal(int restart_frames);

 private:
  // Looked up by string_view, so that finding a prepared statement allocates nothing.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  static int on_wal_commit(void* self, sqlite3* db, const char* schema, int frames);

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>, Hash, std::equal_to<>> statements_;
  int wal_restart_frames_ = 0;
  std::chrono::steady_clock::time_point last_restart_{};
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

/// BEGIN (a read snapshot once the first statement runs); ended on destruction. For
/// several reads that must agree.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Database& db_;
};

}  // namespace cronkit::store::sqlite
