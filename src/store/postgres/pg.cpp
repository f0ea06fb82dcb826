#include "store/postgres/pg.h"

#include <libpq-fe.h>

#include <charconv>

namespace cronkit::store::pg {
namespace {

void ignore_notice(void*, const char*) {}

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

}  // namespace

// ---- Params ----------------------------------------------------------------------------

Params& Params::add(std::string_view value) {
  values_.emplace_back(value);
  null_.push_back(false);
  return *this;
}

Params& Params::add(std::int64_t value) {
  return add(std::string_view{std::to_string(value)});
}

Params& Params::add(bool value) {
  return add(std::string_view{value ? "t" : "f"});
}

Params& Params::add(const std::optional<std::string>& value) {
  return value ? add(std::string_view{*value}) : add_null();
}

Params& Params::add(const std::optional<std::int64_t>& value) {
  return value ? add(*value) : add_null();
}

Params& Params::add_null() {
  values_.emplace_back();
  null_.push_back(true);
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i)
    out[i] = null_[i] ? nullptr : values_[i].c_str();
  return out;
}

// ---- ArrayLiteral ----------------------------------------------------------------------

void ArrayLiteral::separate() {
  if (!empty_) text_ += ',';
  empty_ = false;
}

void ArrayLiteral::add(std::string_view value) {
  separate();
  // Quoted, with " and \ escaped by a backslash: any text reads back as itself.
  text_ += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

void ArrayLiteral::add(std::int64_t value) {
  separate();
  text_ += std::to_string(value);
}

void ArrayLiteral::add(const std::optional<std::string>& value) {
  value ? add(std::string_view{*value}) : add_null();
}

void ArrayLiteral::add(const std::optional<std::int64_t>& value) {
  value ? add(*value) : add_null();
}

void ArrayLiteral::add_null() {
  separate();
  text_ += "NULL";
}

std::string ArrayLiteral::take() {
  std::string out = std::move(text_);
  out += '}';
  text_ = "{";
  empty_ = true;
  return out;
}

// ---- Result ----------------------------------------------------------------------------

void Result::clear(pg_result* r) {
  PQclear(r);
}

int Result::rows() const {
  return PQntuples(r_.get());
}

std::int64_t Result::affected() const {
  std::string_view s = PQcmdTuples(r_.get());
  std::int64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

bool Result::is_null(int row, int column) const {
  return PQgetisnull(r_.get(), row, column) != 0;
}

std::string_view Result::text(int row, int column) const {
  return {PQgetvalue(r_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(r_.get(), row, column))};
}

std::int64_t Result::int64(int row, int column) const {
  std::string_view s = text(row, column);
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size()) {
    throw StoreError("expected an integer from PostgreSQL, got '" + std::string(s) + "'");
  }
  return n;
}

bool Result::boolean(int row, int column) const {
  return text(row, column) == "t";
}

std::optional<std::string> Result::optional_text(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::string(text(row, column));
}

std::optional<std::int64_t> Result::optional_int64(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return int64(row, column);
}

// ---- Connection ------------------------------------------------------------------------

Connection::Connection(const std::string& url) {
  // Defaults first: what the URL says wins, except the encoding, which the store relies on.
  const char* keywords[] = {"application_name", "connect_timeout", "keepalives_idle",
                            "dbname",           "client_encoding", nullptr};
  const char* values[] = {"cronkit", "5", "10", url.c_str(), "UTF8", nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (!conn_) throw Error("cannot connect to PostgreSQL: out of memory", "", true);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = "cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(message, "", true);
  }
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

Result Connection::check(pg_result* r, std::string_view what) {
  Result result{r};
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const bool lost = PQstatus(conn_) != CONNECTION_OK;
  std::string message = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  throw Error("PostgreSQL " + std::string(what) + ": " + message, state ? state : "", lost);
}

Result Connection::exec(std::string_view sql) {
  return check(PQexec(conn_, std::string(sql).c_str()), "statement");
}

Result Connection::query(std::string_view sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    check(PQprepare(conn_, name.c_str(), std::string(sql).c_str(), 0, nullptr), "prepare");
    it = prepared_.emplace(std::string(sql), std::move(name)).first;
  }
  auto values = params.pointers();
  return check(
      PQexecPrepared(conn_, it->second.c_str(), params.size(), values.data(), nullptr, nullptr, 0),
      "statement");
}

bool Connection::idle() const {
  return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool Connection::lost() const {
  return PQstatus(conn_) != CONNECTION_OK;
}

std::vector<std::string> Connection::notifications() {
  if (!PQconsumeInput(conn_)) {
    throw Error("PostgreSQL connection: " + trimmed(PQerrorMessage(conn_)), "", true);
  }
  std::vector<std::string> out;
  while (PGnotify* n = PQnotifies(conn_)) {
    out.emplace_back(n->extra ? n->extra : "");
    PQfreemem(n);
  }
  return out;
}

int Connection::socket() const {
  return PQsocket(conn_);
}

// ---- Transaction -----------------------------------------------------------------------

Transaction::Transaction(Connection& c, std::string_view begin) : c_(c) {
  c_.exec(begin);
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    c_.exec("ROLLBACK");
  } catch (const StoreError&) {
    // The connection is gone or broken: it is not returned to any pool (idle() is false).
  }
}

void Transaction::commit() {
  c_.exec("COMMIT");
  done_ = true;
}

}  // namespace cronkit::store::pg
