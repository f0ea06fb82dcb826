// /api/scheduler/channels and /deliveries: where notifications go, and what was sent.
// Secrets (a webhook's headers and secret, a Slack webhook's URL path, an email channel's
// password) are write-only: answers say only whether they are set. The fields' rules are
// in channel_spec.cpp.
#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>

#include "api/api.h"
#include "api/audit.h"
#include "api/channel_spec.h"
#include "api/handler.h"
#include "core/ids.h"
#include "core/text.h"
#include "notify/sender.h"

namespace cronkit::api {
namespace {

constexpr int kMaxDeliveryPage = 500;  // pageSize of the deliveries, as of executions

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
  auto channel = channel_from_create(c.body());
  if (!channel) invalid(std::move(channel.error()));
  if (auto p = outbound_problem(channel->url, options_.outbound)) invalid({{"url", *p}});
  const Millis now = clock_.now();
  channel->id = new_id(now);
  channel->created_at = channel->updated_at = now;
  const AuditEntry audit = audit_entry(c, "channel.create", channel->id, channel->name);
  if (!store_.insert_channel(*channel, &audit)) {
    throw Failure{http::status::conflict, "a channel with id " + channel->id + " exists"};
  }
  announce("channel.created", *channel);
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
  auto channel = channel_from_update(body, *current);
  if (!channel) invalid(std::move(channel.error()));
  if (auto p = outbound_problem(channel->url, options_.outbound)) invalid({{"url", *p}});
  channel->updated_at = std::max(clock_.now(), current->updated_at);
  AuditEntry audit = audit_entry(c, "channel.update", channel->id, channel->name);
  audit.changes = channel_changes(*current, *channel);
  if (!store_.update_channel(*channel, &audit)) {
    throw Failure{http::status::not_found, "no channel with id " + c.id()};
  }
  announce("channel.updated", *channel);
  return channel_answer(*channel);
}

Response Api::delete_channel(Call& c) {
  auto channel = store_.get_channel(c.id());
  if (channel) {
    // Deleting it would silence those tasks' notifications without a word.
    auto tasks = store_.tasks_notifying(channel->id, 11);
    if (!tasks.empty()) {
      std::string names;
      for (std::size_t i = 0; i < std::min<std::size_t>(tasks.size(), 10); ++i)
        names += (i ? ", " : "") + tasks[i];
      if (tasks.size() > 10) names += ", ...";
      throw Failure{http::status::conflict, "the channel is used by the notification rules of " +
                                                names + ": remove those rules first"};
    }
  }
  if (!channel) throw Failure{http::status::not_found, "no channel with id " + c.id()};
  const AuditEntry audit = audit_entry(c, "channel.delete", channel->id, channel->name);
  if (!store_.delete_channel(c.id(), &audit)) {
    throw Failure{http::status::not_found, "no channel with id " + c.id()};
  }
  announce("channel.deleted", *channel);
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
  json::object document{{"kind", "test"},
                        {"deliveryId", notice.delivery_id},
                        {"channelId", channel->id},
                        {"channelName", channel->name},
                        {"sentAt", now},
                        {"message", notice.detail}};
  if (!options_.public_url.empty()) {
    // The channels page of the admin UI, where the test was sent from.
    std::string link = options_.public_url;
    while (!link.empty() && link.back() == '/')
      link.pop_back();
    link += std::string(kAdminUiPath) + "/channels";
    document["link"] = link;
    notice.detail += "\n" + link;
  }
  notice.document = json::serialize(document);
  // Kept like every delivery: pending now, then how it went.
  Delivery delivery{.id = notice.delivery_id,
                    .channel_id = channel->id,
                    .event = NotifyEvent::test,
                    .summary = notice.summary,
                    .created_at = now};
  AuditEntry audit = audit_entry(c, "channel.test", channel->id, channel->name);
  audit.detail = json::serialize(json::object{{"deliveryId", delivery.id}});
  try {
    store_.insert_delivery(delivery, &audit);
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
          announce(delivery);
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
