#include "api/request_target.h"

#include <algorithm>

#include "core/text.h"

namespace cronkit::api {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decoded text: valid UTF-8 without control characters.
bool clean_text(std::string_view s) {
  return valid_utf8(s) && std::none_of(s.begin(), s.end(),
                                       [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

std::optional<std::string_view> path_problem(std::string_view path) {
  if (!path.starts_with('/')) return "the request target must be a path starting with /";
  for (char c : path) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '\\') return "the path holds a character it may not";
  }
  auto decoded = percent_decode(path, false);
  if (!decoded || !clean_text(*decoded)) return "the path holds a broken or forbidden escape";
  for (auto escape : {"%2f", "%2F", "%5c", "%5C"}) {
    if (path.find(escape) != path.npos) return "the path holds an encoded slash";
  }
  for (std::size_t start = 1; start <= decoded->size();) {
    auto end = decoded->find('/', start);
    if (end == std::string::npos) end = decoded->size();
    auto segment = std::string_view{*decoded}.substr(start, end - start);
    if (segment == "." || segment == "..") return "the path holds a . or .. segment";
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex(s[i + 1]);
      int lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += query && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    auto end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::expected<RequestTarget, std::string> parse_request_target(std::string_view target) {
  const auto q = target.find('?');
  RequestTarget out{target.substr(0, q), {}};
  if (auto problem = path_problem(out.path)) return std::unexpected(std::string(*problem));
  if (q == std::string_view::npos) return out;
  for (auto pair : split(target.substr(q + 1), '&')) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == pair.npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value || !clean_text(*key) || !clean_text(*value)) {
      return std::unexpected(
          "malformed query string: broken escape, invalid UTF-8 or a control character");
    }
    out.query.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

}  // namespace cronkit::api
