#pragma once

#include <boost/json/value.hpp>
#include <expected>

#include "api/task_spec.h"
#include "core/channel.h"

namespace cronkit::api {

/// The channel a create request describes (id and timestamps left for the caller), or every
/// problem with it. Fields: name, type, url; a webhook's headers (an object of strings)
/// and secret; an email channel's from, to, username, password and startTls. Unknown
/// fields are refused, and so are fields of another type of channel.
std::expected<Channel, FieldErrors> channel_from_create(const boost::json::value& body);

/// `current` with a partial update applied (null clears headers, secret, username and
/// password; what is left out is kept), checked as a whole. The type cannot change.
std::expected<Channel, FieldErrors> channel_from_update(const boost::json::value& body,
                                                        Channel current);

}  // namespace cronkit::api
