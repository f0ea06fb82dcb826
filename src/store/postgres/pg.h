#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/store.h"

struct pg_conn;
struct pg_result;

namespace cronkit::store::pg {

/// PostgreSQL refused a statement, or the connection failed (then `sqlstate()` is empty
/// and `connection_lost()` is true).
class Error : public StoreError {
 public:
  Error(const std::string& message, std::string sqlstate, bool connection_lost)
      : StoreError(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  /// The five-character SQLSTATE, for example "23503" for a foreign key violation.
  const std::string& sqlstate() const { return sqlstate_; }
  bool connection_lost() const { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

/// The parameters of one statement, sent as text: PostgreSQL converts them to the types
/// the statement gives them (write casts such as $1::int8[] where it cannot infer one).
class Params {
 public:
  Params& add(std::string_view value);
  Params& add(const char* value) { return add(std::string_view{value}); }
  Params& add(const std::string& value) { return add(std::string_view{value}); }
  Params& add(std::int64_t value);
  Params& add(bool value);
  Params& add(const std::optional<std::string>& value);
  Params& add(const std::optional<std::int64_t>& value);
  Params& add_null();

  int size() const { return static_cast<int>(values_.size()); }
  /// Pointers for libpq, valid while this object lives unchanged.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

/// A PostgreSQL array literal in text form ('{"a","b",NULL}'), for passing a column of
/// values as one parameter: `unnest($1::text[], $2::int8[])` turns columns into rows, so
/// that a whole batch is one statement.
class ArrayLiteral {
 public:
  ArrayLiteral() : text_("{") {}
  void add(std::string_view value);
  void add(const std::string& value) { add(std::string_view{value}); }
  void add(std::int64_t value);
  void add(const std::optional<std::string>& value);
  void add(const std::optional<std::int64_t>& value);
  void add_null();
  /// The literal; the builder is empty afterwards.
  std::string take();

 private:
  void separate();
  std::string text_;
  bool empty_ = true;
};

/// The rows of a statement. Column and row numbers count from 0.
class Result {
 public:
  explicit Result(pg_result* r) : r_(r, &clear) {}
  int rows() const;
  /// Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t affected() const;
  bool is_null(int row, int column) const;
  std::string_view text(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  bool boolean(int row, int column) const;
  std::optional<std::string> optional_text(int row, int column) const;
  std::optional<std::int64_t> optional_int64(int row, int column) const;

 private:
  static void clear(pg_result* r);
  std::unique_ptr<pg_result, void (*)(pg_result*)> r_;
};

/// One connection, with its statements prepared once each. Not thread-safe: the owner
/// serialises use.
///   Connection c{"postgresql://cronkit@127.0.0.1:5432/cronkit"};
///   auto r = c.query("SELECT name FROM scheduled_tasks WHERE id = $1", Params{}.add(id));
class Connection {
 public:
  /// Connects to the database a URL or key=value string names. Throws Error.
  explicit Connection(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs SQL without parameters (one or more statements); returns the last result.
  Result exec(std::string_view sql);
  /// Runs one statement, prepared on this connection the first time its text is seen.
  Result query(std::string_view sql, const Params& params = {});

  /// True while the connection works and no transaction is open on it.
  bool idle() const;
  /// True once the connection failed (the server went away or ended it).
  bool lost() const;
  /// The server's notifications received so far (LISTEN), oldest first; reads what
  /// arrived on the socket without waiting.
  std::vector<std::string> notifications();
  /// The socket, for waiting on notifications with poll().
  int socket() const;

 private:
  Result check(pg_result* r, std::string_view what);

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  pg_conn* conn_ = nullptr;
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> prepared_;  // sql -> name
};

/// BEGIN on construction; ROLLBACK on destruction unless commit() ran.
class Transaction {
 public:
  explicit Transaction(Connection& c, std::string_view begin = "BEGIN");
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Connection& c_;
  bool done_ = false;
};

}  // namespace cronkit::store::pg
