#pragma once

// A fresh PostgreSQL database per test, on the server that ctest's `postgres` fixture
// started (tests/support/postgres.sh writes its URL to the file CRONKIT_TEST_POSTGRES
// names).

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "store/postgres/pg.h"

namespace cronkit::testing {

class TestDatabase {
 public:
  TestDatabase() : name_(next_name()) {
    admin().exec("CREATE DATABASE " + name_);
    url_ = server_url();
    url_.replace(url_.rfind('/') + 1, std::string::npos, name_);
  }
  ~TestDatabase() {
    try {
      admin().exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
      // The server is gone: the fixture's stop removes everything anyway.
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  /// postgresql://cronkit@127.0.0.1:PORT/NAME
  const std::string& url() const { return url_; }

  /// The server's own database, for creating others.
  static std::string server_url() {
    const char* file = std::getenv("CRONKIT_TEST_POSTGRES");
    std::ifstream in{file ? file : ""};
    std::string url;
    if (!file || !std::getline(in, url) || url.empty()) {
      throw std::runtime_error(
          "no test PostgreSQL server: run the tests with ctest, which starts one, or start one "
          "with tests/support/postgres.sh start FILE and set CRONKIT_TEST_POSTGRES=FILE");
    }
    return url;
  }

 private:
  static std::string next_name() {
    static std::atomic<int> n{0};
    return "cronkit_test_" + std::to_string(::getpid()) + "_" + std::to_string(++n);
  }
  static store::pg::Connection admin() { return store::pg::Connection{server_url()}; }

  std::string name_;
  std::string url_;
};

}  // namespace cronkit::testing
