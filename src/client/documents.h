#pragma once
// Task files: what `cronkit apply -f` reads and `cronkit export` writes. A file is YAML
// (yaml-cpp) or JSON (by its .json name, or a stdin that starts with { or [) and holds a
// list of tasks, {tasks: [...]}, or one task; a YAML file may hold several documents. Each task has
// the fields of the API's create request (docs/apply.md).

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <string>
#include <vector>

namespace cronkit::client {

/// Where a task of a file is: for messages that point at the line to fix.
struct Source {
  std::string file;
  int line = 0;                                         // 1-based; 0 when unknown (JSON)
  std::map<std::string, int, std::less<>> field_lines;  // a top-level field's line
};

struct TaskFiles {
  boost::json::array tasks;
  std::vector<Source> sources;  // one per task
};

/// Appends the tasks of `path` ("-": standard input). Throws Stop(Exit::usage) for a file
/// that cannot be read, and Stop(Exit::refused) naming the file, line and column for one
/// that does not parse or does not hold tasks.
void read_task_file(const std::string& path, TaskFiles& out);

/// The tasks as YAML: {tasks: [...]}, strings double-quoted, lists of plain values on one
/// line. What read_task_file() reads back as the same JSON.
std::string to_yaml(const boost::json::array& tasks);

/// `v` as JSON indented by two spaces, ending with a line break.
std::string to_pretty_json(const boost::json::value& v);

}  // namespace cronkit::client
