#include "api/json_body.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace cronkit::api {
namespace {

namespace json = boost::json;

// A basic_parser handler that only looks at object keys: the keys of each open object, and
// the first one seen twice.
class DuplicateKeys {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  /// The first key found twice in one object, if any.
  const std::optional<std::string>& duplicate() const { return duplicate_; }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    open_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    open_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!open_.back().insert(key_).second) {
      duplicate_ = std::move(key_);
      ec = json::error::syntax;  // stops the parser
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  std::vector<std::unordered_set<std::string>> open_;
  std::string key_;
  std::optional<std::string> duplicate_;
};

}  // namespace

std::expected<json::value, std::string> parse_json_body(std::string_view text) {
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::error_code ec;
  json::value v = json::parse(text, ec, {}, options);
  if (ec) return std::unexpected("malformed JSON: " + ec.message());
  // The body is valid JSON: a second pass only to find keys given twice.
  json::basic_parser<DuplicateKeys> keys{options};
  keys.write_some(false, text.data(), text.size(), ec);
  if (const auto& key = keys.handler().duplicate()) {
    return std::unexpected("duplicate key \"" + *key + "\"");
  }
  return v;
}

}  // namespace cronkit::api
