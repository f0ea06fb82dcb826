#pragma once

#include <boost/json/value.hpp>
#include <expected>
#include <string>
#include <string_view>

namespace cronkit::api {

/// Deepest nesting of arrays and objects a request body may have.
inline constexpr std::size_t kMaxJsonDepth = 32;

/// A request body as JSON: strict RFC 8259 (no comments, no trailing commas, valid UTF-8),
/// at most kMaxJsonDepth deep, and without duplicate keys in any object: two parsers may
/// keep different ones of them, so such a body is refused rather than guessed at. Returns
/// the reason on failure, e.g. `duplicate key "name"`.
std::expected<boost::json::value, std::string> parse_json_body(std::string_view text);

}  // namespace cronkit::api
