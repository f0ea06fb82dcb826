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

constexpr std::array<std::string_view, 10> kChannelFields = {
    "name", "type", "url", "headers", "secret", "from", "to", "username", "password", "startTls"};
constexpr std::string_view kFieldList =
    "name, type, url, headers, secret, from, to, username, password, startTls";
// Write-only or optional fields that null clears.
constexpr std::array<std::string_view, 4> kNullable = {"headers", "secret", "username", "password"};
// Set by cronkit on every delivery: a channel's headers may not name them.
constexpr std::array<std::string_view, 4> kReservedHeaders = {
    "Content-Type", "Content-Length", "X-Cronkit-Delivery", "X-Cronkit-Signature"};
constexpr int kMaxDeliveryPage = 500;  // pageSize of the deliveries, as of executions
constexpr std::size_t kMaxRecipients = 20;
constexpr std::size_t kMaxAddressBytes = 254;
constexpr std::size_t kMaxLoginBytes = 1024;  // username, password

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
                                   ", not " + std::string(kind_name(*v)));
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
                         std::string(kind_name((*a)[i])));
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
      fail("startTls", "must be a boolean, not " + std::string(kind_name(*v)));
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
  const bool email = c.type == ChannelType::email;
  w.key("from").value(email ? std::optional<std::string>{c.mail_from} : std::nullopt);
  w.key("to").begin_array();
  for (const auto& a : c.mail_to)
    w.value(a);
  w.end_array();
  w.key("username").value(c.username);
  w.key("passwordSet").value(c.password.has_value());
  w.key("startTls").value(c.start_tls);
  w.key("createdAt").value(c.created_at);
  w.key("updatedAt").value(c.updated_at);
  w.end_object();
}

void write_delivery(JsonWriter& w, const Delivery& d) {
  w.begin_object();
  w.key("id").value(d.id);
  w.key("channelId").value(d.channel_id);
  w.key("taskId").value(d.task_id);
  w.key("executionId").value(d.execution_id);
  w.key("event").value(to_string(d.event));
  w.key("status").value(to_string(d.status));
  w.key("attempts").value(d.attempts);
  w.key("lastStatus").value(d.last_status);
  w.key("lastError").value(d.last_error);
  w.key("summary").value(d.summary);
  w.key("createdAt").value(d.created_at);
  w.key("finishedAt").value(d.finished_at);
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
  // Kept like every delivery: pending now, then how it went.
  Delivery delivery{.id = notice.delivery_id,
                    .channel_id = channel->id,
                    .event = NotifyEvent::test,
                    .summary = notice.summary,
                    .created_at = now};
  try {
    store_.insert_delivery(delivery);
  } catch (const StoreError& e) {
    throw Failure{http::status::service_unavailable,
                  std::string("the delivery cannot be recorded: ") + e.what()};
  }
  // The answer comes from a sender thread once the receiver answered or the send timed out.
  Reply reply = error({http::status::gateway_timeout, "the test notification did not finish"});
  reply.later_timeout = std::chrono::milliseconds{sender_.timeout_ms() + 5000};
  reply.later = [this, channel = std::move(*channel), notice = std::move(notice),
                 delivery = std::move(delivery)](Respond respond_later) mutable {
    const std::string id = notice.delivery_id;
    const ChannelType type = channel.type;
    sender_.send(
        std::move(channel), std::move(notice),
        [this, respond_later, id, type, delivery](notify::Sent s) mutable {
          delivery.status = s.ok ? DeliveryStatus::delivered : DeliveryStatus::failed;
          delivery.attempts = 1;
          if (s.status) delivery.last_status = *s.status;
          if (!s.ok) delivery.last_error = s.error;
          delivery.finished_at = clock_.now();
          if (options_.metrics) {
            options_.metrics->observe_delivery(
                type, s.ok,
                static_cast<double>(*delivery.finished_at - delivery.created_at) / 1000);
          }
          try {
            store_.update_delivery(delivery);
          } catch (const StoreError&) {
            // The outcome is still answered; the row stays pending.
          }
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

Response Api::list_deliveries(Call& c) {
  DeliveryFilter filter;
  filter.page = c.integer("page", 1, 1, 1000000);
  filter.page_size = c.integer("pageSize", 20, 1, kMaxDeliveryPage);
  if (auto channel = c.get("channelId")) filter.channel_id = std::string(*channel);
  if (auto task = c.get("taskId")) filter.task_id = std::string(*task);
  if (auto status = c.get("status")) {
    filter.status = parse_delivery_status(*status);
    if (!filter.status) bad_parameter("status", "must be pending, delivered or failed");
  }
  auto page = store_.list_deliveries(filter);
  Answer a;
  auto& w = a.data();
  w.begin_object().key("list").begin_array();
  for (const auto& d : page.list)
    write_delivery(w, d);
  w.end_array();
  w.key("total").value(page.total).key("page").value(page.page);
  w.key("pageSize").value(page.page_size).end_object();
  return std::move(a).done();
}

}  // namespace cronkit::api
