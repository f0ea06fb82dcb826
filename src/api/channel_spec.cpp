#include "api/channel_spec.h"

#include <algorithm>
#include <array>
#include <boost/json/serialize.hpp>

#include "api/task_spec.h"
#include "core/text.h"

namespace cronkit::api {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 10> kChannelFields = {
    "name", "type", "url", "headers", "secret", "from", "to", "username", "password", "startTls"};
constexpr std::string_view kFieldList =
    "name, type, url, headers, secret, from, to, username, password, startTls";
// Write-only or optional fields that null clears.
constexpr std::array<std::string_view, 4> kNullable = {"headers", "secret", "username", "password"};
// Set by cronkit on every delivery: a channel's headers may not name them.
constexpr std::array<std::string_view, 4> kReservedHeaders = {
    "Content-Type", "Content-Length", "X-Cronkit-Delivery", "X-Cronkit-Signature"};
constexpr std::size_t kMaxRecipients = 20;
constexpr std::size_t kMaxAddressBytes = 254;
constexpr std::size_t kMaxLoginBytes = 1024;  // username, password

// A plain ASCII address, local@domain: what goes into MAIL FROM, RCPT TO and the headers
// as it is, so nothing in it may end a line or a header.
std::optional<std::string> address_problem(std::string_view a) {
  if (a.empty() || a.size() > kMaxAddressBytes) {
    return "must be an address of 1 to " + std::to_string(kMaxAddressBytes) + " bytes";
  }
  const auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) {
    return "\"" + std::string(a) + "\" is not an address (local@domain)";
  }
  for (char ch : a) {
    const auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f ||
        std::string_view{"<>()[]\\,;:\""}.find(ch) != std::string_view::npos) {
      return "\"" + std::string(a) + "\" is not a plain address: no spaces, quotes, brackets, " +
             "commas or non-ASCII characters";
    }
  }
  return std::nullopt;
}

// smtp:// or smtps:// with a host, as curl will parse it.
std::optional<std::string> smtp_url_problem(const std::string& url) {
  const auto scheme = url.substr(0, url.find("://"));
  if (scheme != "smtp" && scheme != "smtps") {
    return "must be an smtp:// or smtps:// URL (the mail server)";
  }
  // url_problem checks http(s); the rest of the URL is checked the same way.
  if (auto p = url_problem("http" + url.substr(scheme.size()))) return p;
  return std::nullopt;
}

// The channel a create (current: nullopt) or update body describes, or every problem.
std::expected<Channel, FieldErrors> channel_from(const json::value& body,
                                                 std::optional<Channel> current) {
  FieldErrors errors;
  auto fail = [&](std::string field, std::string message) {
    if (std::ranges::none_of(errors, [&](const FieldError& e) { return e.field == field; })) {
      errors.push_back({std::move(field), std::move(message)});
    }
  };
  const auto* o = body.if_object();
  if (!o) return std::unexpected(FieldErrors{{"body", "must be a JSON object"}});
  const bool creating = !current;
  Channel c = current.value_or(Channel{});
  for (const auto& [key, value] : *o) {
    if (std::ranges::find(kChannelFields, std::string_view{key}) == kChannelFields.end()) {
      fail(std::string(key),
           "is not a field of a channel (fields: " + std::string(kFieldList) + ")");
    }
  }
  // A string field, or nullptr (not given, null, or refused).
  auto string_of = [&](std::string_view field) -> const json::string* {
    const json::value* v = o->if_contains(field);
    if (!v) return nullptr;
    if (auto* s = v->if_string()) {
      if (s->find('\0') != json::string::npos) {
        fail(std::string(field), "must not contain NUL characters");
        return nullptr;
      }
      return s;
    }
    const bool nullable = std::ranges::find(kNullable, field) != kNullable.end();
    if (!(v->is_null() && nullable)) {
      fail(std::string(field), std::string("must be a string") + (nullable ? " or null" : "") +
                                   ", not " + std::string(json_kind(*v)));
    }
    return nullptr;
  };
  // An optional text: null clears it.
  auto optional_text = [&](std::string_view field, std::optional<std::string>& out) {
    const json::value* v = o->if_contains(field);
    if (!v) return;
    if (v->is_null()) {
      out.reset();
    } else if (auto* s = string_of(field)) {
      out = std::string(s->data(), s->size());
    }
  };
  if (auto* v = o->if_contains("type")) {
    auto* s = v->if_string();
    auto type = s ? parse_channel_type(std::string_view{*s}) : std::nullopt;
    if (!type) {
      fail("type", "must be \"webhook\", \"slack\" or \"email\"");
    } else if (!creating && *type != c.type) {
      fail("type", "cannot be changed (it is \"" + std::string(to_string(c.type)) +
                       "\"): create another channel");
    } else {
      c.type = *type;
    }
  } else if (creating) {
    fail("type", "is required (\"webhook\", \"slack\" or \"email\")");
  }
  if (auto* s = string_of("name")) c.name.assign(s->data(), s->size());
  if (auto* s = string_of("url")) c.url.assign(s->data(), s->size());
  if (auto* v = o->if_contains("headers")) {
    if (v->is_null()) {
      c.headers.reset();
    } else if (!v->is_object()) {
      fail("headers", "must be an object of header names to strings, or null, not " +
                          std::string(json_kind(*v)));
    } else {
      c.headers = json::serialize(*v);
      for (const auto& [name, value] : v->as_object()) {
        if (std::ranges::any_of(kReservedHeaders,
                                [&](std::string_view r) { return iequals(r, name); })) {
          fail("headers", "must not set " + std::string(name) + ": cronkit sets it");
        }
      }
    }
  }
  optional_text("secret", c.secret);
  if (auto* s = string_of("from")) c.mail_from.assign(s->data(), s->size());
  if (auto* v = o->if_contains("to")) {
    auto* a = v->if_array();
    if (!a || a->empty() || a->size() > kMaxRecipients) {
      fail("to", "must be an array of 1 to " + std::to_string(kMaxRecipients) + " addresses");
    } else {
      c.mail_to.clear();
      for (std::size_t i = 0; i < a->size(); ++i) {
        auto* s = (*a)[i].if_string();
        if (!s) {
          fail("to", "item " + std::to_string(i) + " must be a string, not " +
                         std::string(json_kind((*a)[i])));
          break;
        }
        c.mail_to.emplace_back(s->data(), s->size());
      }
    }
  }
  optional_text("username", c.username);
  optional_text("password", c.password);
  if (auto* v = o->if_contains("startTls")) {
    if (v->is_bool()) {
      c.start_tls = v->as_bool();
    } else {
      fail("startTls", "must be a boolean, not " + std::string(json_kind(*v)));
    }
  }

  // The channel as a whole.
  if (c.name.find_first_not_of(" \t\r\n") == std::string::npos) {
    fail("name", "is required and must not be blank");
  } else if (!valid_utf8(c.name) || std::ranges::any_of(c.name, [](char ch) {
               return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
             })) {
    fail("name", "must not contain control characters");
  } else if (utf8_length(c.name) > kMaxNameChars) {
    fail("name", "must be at most " + std::to_string(kMaxNameChars) + " characters");
  }
  const bool email = c.type == ChannelType::email;
  if (c.url.empty()) {
    fail("url", email ? "is required (the mail server: smtp:// or smtps://)"
                      : "is required (an http or https URL)");
  } else if (c.url.size() > kMaxUrlBytes) {
    fail("url", "must be at most " + std::to_string(kMaxUrlBytes) + " bytes");
  } else if (auto p = email ? smtp_url_problem(c.url) : url_problem(c.url)) {
    fail("url", *p);
  }
  auto only = [&](bool given, std::string field, std::string_view what) {
    if (given) fail(std::move(field), "only " + std::string(what) + " takes it");
  };
  if (c.type == ChannelType::webhook) {
    if (c.headers) {
      if (c.headers->size() > kMaxHeadersBytes) {
        fail("headers", "must be at most " + std::to_string(kMaxHeadersBytes) + " bytes as JSON");
      } else if (auto p = headers_problem(*c.headers)) {
        fail("headers", *p);
      }
    }
    if (c.secret && (c.secret->size() < kMinSecretBytes || c.secret->size() > kMaxSecretBytes)) {
      fail("secret", "must be " + std::to_string(kMinSecretBytes) + " to " +
                         std::to_string(kMaxSecretBytes) + " bytes");
    }
  } else {
    only(c.headers.has_value(), "headers", "a webhook channel");
    only(c.secret.has_value(), "secret", "a webhook channel (it signs its deliveries)");
  }
  if (email) {
    if (c.mail_from.empty()) {
      fail("from", "is required (the sender's address)");
    } else if (auto p = address_problem(c.mail_from)) {
      fail("from", *p);
    }
    if (c.mail_to.empty()) fail("to", "is required (1 to 20 addresses)");
    for (const auto& a : c.mail_to) {
      if (auto p = address_problem(a)) fail("to", *p);
    }
    auto login_problem = [&](const std::optional<std::string>& v, std::string field) {
      if (!v) return;
      if (v->empty() || v->size() > kMaxLoginBytes ||
          std::ranges::any_of(*v, [](char ch) { return ch == '\r' || ch == '\n'; })) {
        fail(std::move(field),
             "must be 1 to " + std::to_string(kMaxLoginBytes) + " bytes without line breaks");
      }
    };
    login_problem(c.username, "username");
    login_problem(c.password, "password");
    if (c.password && !c.username) fail("password", "needs a username");
    if (c.start_tls && c.url.starts_with("smtps://")) {
      fail("startTls", "smtps:// is TLS from the start: STARTTLS is for smtp://");
    }
  } else {
    only(!c.mail_from.empty(), "from", "an email channel");
    only(!c.mail_to.empty(), "to", "an email channel");
    only(c.username.has_value(), "username", "an email channel");
    only(c.password.has_value(), "password", "an email channel");
    only(c.start_tls, "startTls", "an email channel");
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return c;
}

}  // namespace

std::expected<Channel, FieldErrors> channel_from_create(const boost::json::value& body) {
  return channel_from(body, std::nullopt);
}

std::expected<Channel, FieldErrors> channel_from_update(const boost::json::value& body,
                                                        Channel current) {
  return channel_from(body, std::move(current));
}

}  // namespace cronkit::api
