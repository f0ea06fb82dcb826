#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/notify_rule.h"
#include "core/task.h"

namespace cronkit {

/// Where a notification goes: an HTTP endpoint that gets a JSON document (webhook), a
/// Slack incoming webhook (Slack's message format), or mailboxes through an SMTP server.
enum class ChannelType { webhook, slack, email };

std::string_view to_string(ChannelType t);
std::optional<ChannelType> parse_channel_type(std::string_view s);

/// The least time between two messages to a channel of this type: Slack and mail are read by
/// people, who get one digest a second at most; a webhook has no limit (0).
Millis send_interval(ChannelType t);

/// The most deliveries one digest message tells of; more wait for the next one.
inline constexpr int kMaxDigest = 500;

/// A notification channel as stored. headers, secret and password are write-only: the API
/// says only whether they are set (and which header names), never their values.
struct Channel {
  std::string id;
  std::string name;
  ChannelType type = ChannelType::webhook;
  std::string url;                     // http(s); a Slack incoming-webhook URL; smtp(s)
  std::optional<std::string> headers;  // webhook: a JSON object of strings, sent with each
  std::optional<std::string> secret;   // webhook: signs each delivery (X-Cronkit-Signature)
  // email: the envelope and the message's From and To, and how to log in to the server.
  std::string mail_from;
  std::vector<std::string> mail_to;
  std::optional<std::string> username;
  std::optional<std::string> password;
  bool start_tls = false;  // smtp://: upgrade with STARTTLS, and fail if the server cannot
  Millis created_at = 0;
  Millis updated_at = 0;
  bool operator==(const Channel&) const = default;
};

enum class DeliveryStatus { pending, delivered, failed };

std::string_view to_string(DeliveryStatus s);
std::optional<DeliveryStatus> parse_delivery_status(std::string_view s);

/// One notification sent (or to be sent) to a channel, kept with how its last attempt went.
struct Delivery {
  std::string id;  // X-Cronkit-Delivery: the same on every attempt
  std::string channel_id;
  std::optional<std::string> task_id;
  std::optional<std::string> execution_id;
  NotifyEvent event = NotifyEvent::test;
  DeliveryStatus status = DeliveryStatus::pending;
  int attempts = 0;
  std::optional<std::int64_t> last_status;  // the receiver's HTTP status or SMTP reply
  std::optional<std::string> last_error;
  std::string summary;
  Millis created_at = 0;
  std::optional<Millis> finished_at;
  // An event's facts, a JSON document (the webhook's body but for its link); empty for a test.
  std::string payload;
  // While pending: when the next attempt is due (none for a test, which its request sends).
  std::optional<Millis> next_attempt_at;
  bool operator==(const Delivery&) const = default;
};

}  // namespace cronkit
