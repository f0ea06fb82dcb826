#include "core/channel.h"

#include <array>

namespace cronkit {

std::string_view to_string(ChannelType t) {
  switch (t) {
    case ChannelType::slack:
      return "slack";
    case ChannelType::email:
      return "email";
    case ChannelType::webhook:
      break;
  }
  return "webhook";
}

std::optional<ChannelType> parse_channel_type(std::string_view s) {
  if (s == "webhook") return ChannelType::webhook;
  if (s == "slack") return ChannelType::slack;
  if (s == "email") return ChannelType::email;
  return std::nullopt;
}

Millis send_interval(ChannelType t) {
  return t == ChannelType::webhook ? 0 : 1000;
}

namespace {
constexpr std::array<std::string_view, 3> kDeliveryStatuses = {"pending", "delivered", "failed"};
}  // namespace

std::string_view to_string(DeliveryStatus s) {
  return kDeliveryStatuses[static_cast<std::size_t>(s)];
}

std::optional<DeliveryStatus> parse_delivery_status(std::string_view s) {
  for (std::size_t i = 0; i < kDeliveryStatuses.size(); ++i) {
    if (kDeliveryStatuses[i] == s) return static_cast<DeliveryStatus>(i);
  }
  return std::nullopt;
}

}  // namespace cronkit
