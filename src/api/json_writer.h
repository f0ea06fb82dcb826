#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cronkit::api {

/// Writes JSON text straight into a string, for the answers that carry many records (a
/// page of tasks is 20 objects of 21 fields): building a document tree first cost more
/// than the database read. Commas are placed by the writer; strings are escaped as
/// Boost.JSON's serializer escapes them (", \, control characters; UTF-8 passes through).
///   JsonWriter w{out};
///   w.begin_object().key("id").value(id).key("tags").begin_array().end_array().end_object();
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// The name of the next member of the open object: a name from the code, written as it
  /// is (it must need no escaping).
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view{s}); }
  JsonWriter& value(const std::string& s) { return value(std::string_view{s}); }
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(int n) { return value(std::int64_t{n}); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  JsonWriter& value(const std::optional<std::string>& s) {
    return s ? value(std::string_view{*s}) : null();
  }
  JsonWriter& value(const std::optional<std::int64_t>& n) { return n ? value(*n) : null(); }
  /// Text that is JSON already (a value serialized elsewhere).
  JsonWriter& raw(std::string_view json);

 private:
  void separate();  // a comma before every element but the first
  void open(char c);
  void close(char c);

  std::string& out_;
  std::vector<char> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace cronkit::api
