#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/task.h"

namespace cronkit {

/// Where a notification goes: an HTTP endpoint that gets a JSON document (webhook), or a
/// Slack incoming webhook (Slack's message format).
enum class ChannelType { webhook, slack };

std::string_view to_string(ChannelType t);
std::optional<ChannelType> parse_channel_type(std::string_view s);

/// A notification channel as stored. headers and secret are write-only: the API says only
/// whether they are set (and which header names), never their values.
struct Channel {
  std::string id;
  std::string name;
  ChannelType type = ChannelType::webhook;
  std::string url;                     // http or https; a Slack incoming-webhook URL
  std::optional<std::string> headers;  // webhook: a JSON object of strings, sent with each
  std::optional<std::string> secret;   // webhook: signs each delivery (X-Cronkit-Signature)
  Millis created_at = 0;
  Millis updated_at = 0;
  bool operator==(const Channel&) const = default;
};

}  // namespace cronkit
