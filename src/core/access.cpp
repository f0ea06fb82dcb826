#include "core/access.h"

#include <algorithm>
#include <cctype>

namespace cronkit {

std::string_view to_string(Role r) {
  switch (r) {
    case Role::operator_:
      return "operator";
    case Role::admin:
      return "admin";
    case Role::viewer:
      break;
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view s) {
  if (s == "viewer") return Role::viewer;
  if (s == "operator") return Role::operator_;
  if (s == "admin") return Role::admin;
  return std::nullopt;
}

bool valid_token_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace cronkit
