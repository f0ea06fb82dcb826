#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cronkit::api {

/// A request target as the API reads it: the path as it came, and the query's parameters
/// decoded, in order.
struct RequestTarget {
  std::string_view path;
  std::vector<std::pair<std::string, std::string>> query;
};

/// Checks a request target before any route sees it, and splits it. Paths are compared as
/// they come, so anything that another server or a proxy might read differently — dot
/// segments, encoded slashes, backslashes, NULs, bytes outside printable ASCII, broken
/// escapes, absolute URLs — is refused rather than guessed at; so is query text that is not
/// UTF-8 or holds control characters. The error says why (for a 400).
///   auto t = parse_request_target("/api/scheduler/tasks?page=2");   // t->query[0] = {page, 2}
std::expected<RequestTarget, std::string> parse_request_target(std::string_view target);

/// Percent-decoding; in a query, "+" is a space. Nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view s, bool query);

/// The parts of `s` between each `sep` (an empty part where two meet).
std::vector<std::string_view> split(std::string_view s, char sep);

}  // namespace cronkit::api
