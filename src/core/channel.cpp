#include "core/channel.h"

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

}  // namespace cronkit
