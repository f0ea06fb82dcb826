#pragma once

#include <string>

#include "api/json_writer.h"
#include "core/store.h"
#include "core/task.h"

namespace cronkit::api {

// The API's JSON for the records: the seed's camelCase fields, times as epoch
// milliseconds, booleans as JSON booleans. Each writes the fields into an object the
// caller has opened, so that the caller can add more (a task's nextRun).
void write_fields(JsonWriter& w, const Task& t);
void write_fields(JsonWriter& w, const Execution& e);
void write_fields(JsonWriter& w, const Stats& s);

/// One record as a JSON object.
template <typename Record>
std::string to_json_text(const Record& r) {
  std::string out;
  JsonWriter w{out};
  w.begin_object();
  write_fields(w, r);
  w.end_object();
  return out;
}

}  // namespace cronkit::api
