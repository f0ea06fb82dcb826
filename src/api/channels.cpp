// /api/scheduler/channels: where notifications go. Secrets (a webhook's headers and secret,
// a Slack webhook's URL path) are write-only: answers say only whether they are set.
#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>

#include "api/api.h"
#include "api/handler.h"
#include "core/ids.h"
#include "core/text.h"
#include "notify/sender.h"

namespace cronkit::api {
namespace {

constexpr std::array<std::string_view, 5> kChannelFields = {"name", "type", "url", "headers",
                                                            "secret"};
// Set by cronkit on every delivery: a channel's headers may not name them.
constexpr std::array<std::string_view, 4> kReservedHeaders = {
    "Content-Type", "Content-Length", "X-Cronkit-Delivery", "X-Cronkit-Signature"};

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
    default:
      return "a number";
  }
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
           "is not a field of a channel (fields: name, type, url, headers, secret)");
    }
  }
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
    if (!(v->is_null() && (field == "headers" || field == "secret"))) {
      fail(std::string(field), "must be a string, not " + std::string(kind_name(*v)));
    }
    return nullptr;
  };
  if (auto* v = o->if_contains("type")) {
    auto* s = v->if_string();
    auto type = s ? parse_channel_type(std::string_view{*s}) : std::nullopt;
    if (!type) {
      fail("type", "must be \"webhook\" or \"slack\"");
    } else if (!creating && *type != c.type) {
      fail("type", "cannot be changed (it is \"" + std::string(to_string(c.type)) +
                       "\"): create another channel");
    } else {
      c.type = *type;
    }
  } else if (creating) {
    fail("type", "is required (\"webhook\" or \"slack\")");
  }
  if (auto* s = string_of("name")) c.name.assign(s->data(), s->size());
  if (auto* s = string_of("url")) c.url.assign(s->data(), s->size());
  if (auto* v = o->if_contains("headers")) {
    if (v->is_null()) {
      c.headers.reset();
    } else if (!v->is_object()) {
      fail("headers", "must be an object of header names to strings, or null, not " +
                          std::string(kind_name(*v)));
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
  if (auto* v = o->if_contains("secret")) {
    if (v->is_null()) {
      c.secret.reset();
    } else if (auto* s = string_of("secret")) {
      c.secret = std::string(s->data(), s->size());
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
  if (c.url.empty()) {
    fail("url", "is required (an http or https URL)");
  } else if (c.url.size() > kMaxUrlBytes) {
    fail("url", "must be at most " + std::to_string(kMaxUrlBytes) + " bytes");
  } else if (auto p = url_problem(c.url)) {
    fail("url", *p);
  }
  if (c.headers) {
    if (c.type != ChannelType::webhook) {
      fail("headers", "only a webhook channel takes headers");
    } else if (c.headers->size() > kMaxHeadersBytes) {
      fail("headers", "must be at most " + std::to_string(kMaxHeadersBytes) + " bytes as JSON");
    } else if (auto p = headers_problem(*c.headers)) {
      fail("headers", *p);
    }
  }
  if (c.secret) {
    if (c.type != ChannelType::webhook) {
      fail("secret", "only a webhook channel is signed");
    } else if (c.secret->size() < kMinSecretBytes || c.secret->size() > kMaxSecretBytes) {
      fail("secret", "must be " + std::to_string(kMinSecretBytes) + " to " +
                         std::to_string(kMaxSecretBytes) + " bytes");
    }
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));
  return c;
}

// A Slack incoming-webhook URL carries its credential in the path: answered as
// "https://hooks.slack.com/…".
std::string shown_url(const Channel& c) {
  if (c.type != ChannelType::slack) return c.url;
  const auto scheme = c.url.find("://");
  const auto path = scheme == std::string::npos ? scheme : c.url.find('/', scheme + 3);
  return path == std::string::npos ? c.url : c.url.substr(0, path) + "/\u2026";
}

void write_channel(JsonWriter& w, const Channel& c) {
  w.begin_object();
  w.key("id").value(c.id);
  w.key("name").value(c.name);
  w.key("type").value(to_string(c.type));
  w.key("url").value(shown_url(c));
  w.key("headerNames").begin_array();
  if (c.headers) {
    boost::system::error_code ec;
    auto v = json::parse(*c.headers, ec);
    if (!ec && v.is_object()) {
      for (const auto& [name, value] : v.as_object())
        w.value(std::string_view{name});
    }
  }
  w.end_array();
  w.key("secretSet").value(c.secret.has_value());
  w.key("createdAt").value(c.created_at);
  w.key("updatedAt").value(c.updated_at);
  w.end_object();
}

Response channel_answer(const Channel& c, http::status status = http::status::ok) {
  Answer a;
  write_channel(a.data(), c);
  return std::move(a).done(status);
}

}  // namespace

Response Api::list_channels(Call&) {
  Answer a;
  a.data().begin_array();
  for (const auto& c : store_.list_channels())
    write_channel(a.data(), c);
  a.data().end_array();
  return std::move(a).done();
}

Response Api::create_channel(Call& c) {
  auto channel = channel_from(c.body(), std::nullopt);
  if (!channel) invalid(std::move(channel.error()));
  const Millis now = clock_.now();
  channel->id = new_id(now);
  channel->created_at = channel->updated_at = now;
  if (!store_.insert_channel(*channel)) {
    throw Failure{http::status::conflict, "a channel with id " + channel->id + " exists"};
  }
  return channel_answer(*channel, http::status::created);
}

Response Api::get_channel(Call& c) {
  auto channel = store_.get_channel(c.id());
  if (!channel) throw Failure{http::status::not_found, "no channel with id " + c.id()};
  return channel_answer(*channel);
}

Response Api::update_channel(Call& c) {
  json::value body = c.body();
  auto current = store_.get_channel(c.id());
  if (!current) throw Failure{http::status::not_found, "no channel with id " + c.id()};
  auto channel = channel_from(body, current);
  if (!channel) invalid(std::move(channel.error()));
  channel->updated_at = std::max(clock_.now(), current->updated_at);
  if (!store_.update_channel(*channel)) {
    throw Failure{http::status::not_found, "no channel with id " + c.id()};
  }
  return channel_answer(*channel);
}

Response Api::delete_channel(Call& c) {
  if (!store_.delete_channel(c.id())) {
    throw Failure{http::status::not_found, "no channel with id " + c.id()};
  }
  return ok(nullptr);
}

Reply Api::test_channel(Call& c) {
  auto channel = store_.get_channel(c.id());
  if (!channel) throw Failure{http::status::not_found, "no channel with id " + c.id()};
  const Millis now = clock_.now();
  notify::Notice notice;
  notice.delivery_id = new_id(now);
  notice.summary = "[cronkit] test notification to " + channel->name;
  notice.detail = "This channel works: cronkit can reach it.";
  notice.document = json::serialize(json::object{{"kind", "test"},
                                                 {"deliveryId", notice.delivery_id},
                                                 {"channelId", channel->id},
                                                 {"channelName", channel->name},
                                                 {"sentAt", now},
                                                 {"message", notice.detail}});
  // The answer comes from a sender thread once the receiver answered or the send timed out.
  Reply reply = error({http::status::gateway_timeout, "the test notification did not finish"});
  reply.later_timeout = std::chrono::milliseconds{sender_.timeout_ms() + 5000};
  reply.later = [this, channel = std::move(*channel),
                 notice = std::move(notice)](Respond respond_later) mutable {
    const std::string id = notice.delivery_id;
    sender_.send(std::move(channel), std::move(notice), [respond_later, id](notify::Sent s) {
      Answer a;
      auto& w = a.data();
      w.begin_object();
      w.key("delivered").value(s.ok);
      w.key("deliveryId").value(id);
      w.key("status").value(s.status ? std::optional<std::int64_t>{*s.status} : std::nullopt);
      w.key("error").value(s.ok ? std::nullopt : std::optional<std::string>{s.error});
      w.key("durationMs").value(s.duration_ms);
      w.end_object();
      respond_later(std::move(a).done());
    });
  };
  return reply;
}

}  // namespace cronkit::api
