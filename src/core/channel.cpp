#include "core/channel.h"

namespace cronkit {

std::string_view to_string(ChannelType t) {
  return t == ChannelType::slack ? "slack" : "webhook";
}

std::optional<ChannelType> parse_channel_type(std::string_view s) {
  if (s == "webhook") return ChannelType::webhook;
  if (s == "slack") return ChannelType::slack;
  return std::nullopt;
}

}  // namespace cronkit
