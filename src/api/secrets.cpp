#include "api/secrets.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace cronkit::api {

namespace json = boost::json;

namespace {

// A JSON object of strings kept as text (headers, environment), or none if it is not one.
std::optional<json::object> object_of(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

void hide_values(std::optional<std::string>& text) {
  auto o = object_of(text);
  if (!o) return;
  for (auto& [name, value] : *o)
    value = kHidden;
  text = json::serialize(*o);
}

void hide_text(std::optional<std::string>& text) {
  if (text && !text->empty()) text = std::string(kHidden);
}

void restore_values(std::optional<std::string>& text, const std::optional<std::string>& stored,
                    std::string_view field, FieldErrors& errors) {
  auto o = object_of(text);
  if (!o) return;
  const auto before = object_of(stored);
  bool hidden = false;
  for (auto& [name, value] : *o) {
    if (!value.is_string() || value.get_string() != kHidden) continue;
    hidden = true;
    const json::value* kept = before ? before->if_contains(name) : nullptr;
    if (kept) {
      value = *kept;
    } else {
      errors.push_back({std::string(field) + "." + std::string(name),
                        "is " + std::string(kHidden) + ", which stands for a stored value, and " +
                            "none is stored: give the value"});
    }
  }
  if (!hidden) return;
  // The stored text itself when nothing else changed, so that nothing reads as changed.
  text = before && *before == *o ? stored : std::optional{json::serialize(*o)};
}

void restore_text(std::optional<std::string>& text, const std::optional<std::string>& stored,
                  std::string_view field, FieldErrors& errors) {
  if (!text || *text != kHidden) return;
  if (stored && !stored->empty()) {
    text = stored;
  } else {
    errors.push_back({std::string(field), "is " + std::string(kHidden) +
                                              ", which stands for a stored value, and none is "
                                              "stored: give the value"});
  }
}

}  // namespace

Task hide_secrets(Task t) {
  hide_values(t.http_headers);
  hide_text(t.http_body);
  hide_values(t.environment);
  hide_text(t.command_input);
  return t;
}

FieldErrors restore_hidden(Task& t, const Task* stored) {
  static const Task kNone;
  const Task& s = stored ? *stored : kNone;
  FieldErrors errors;
  restore_values(t.http_headers, s.http_headers, "httpHeaders", errors);
  restore_text(t.http_body, s.http_body, "httpBody", errors);
  restore_values(t.environment, s.environment, "environment", errors);
  restore_text(t.command_input, s.command_input, "commandInput", errors);
  return errors;
}

}  // namespace cronkit::api
