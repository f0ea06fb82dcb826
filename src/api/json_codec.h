#pragma once

#include <boost/json/object.hpp>

#include "core/store.h"
#include "core/task.h"

namespace cronkit::api {

/// The API's JSON for a task: the seed's camelCase fields, times as epoch milliseconds,
/// booleans as JSON booleans.
boost::json::object to_json(const Task& t);
boost::json::object to_json(const Execution& e);
boost::json::object to_json(const Stats& s);

}  // namespace cronkit::api
