#include "client/documents.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <limits>
#include <regex>
#include <sstream>

#include "client/client.h"

namespace cronkit::client {
namespace {

namespace json = boost::json;

std::string where(const std::string& file, const YAML::Mark& mark) {
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// A plain scalar as YAML 1.2's core schema reads it: null, a boolean, an integer, a float,
// or else a string. A quoted one is always a string.
json::value scalar(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  const std::string& tag = node.Tag();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return json::value(text);
  static const std::regex kInt{"[-+]?[0-9]+"};
  static const std::regex kFloat{R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)"};
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (std::regex_match(text, kInt)) {
    std::int64_t n = 0;
    const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, text.data() + text.size(), n);
    if (ec == std::errc{} && end == text.data() + text.size()) return n;
    return std::strtod(text.c_str(), nullptr);  // too large for int64: the API refuses it
  }
  if (std::regex_match(text, kFloat)) return std::strtod(text.c_str(), nullptr);
  return json::value(text);
}

json::value to_json(const YAML::Node& node, const std::string& file) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return scalar(node);
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& item : node)
        a.push_back(to_json(item, file));
      return a;
    }
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) {
          throw Stop(Exit::refused, where(file, kv.first.Mark()) + ": a key must be a name");
        }
        const std::string& key = kv.first.Scalar();
        if (o.contains(key)) {
          throw Stop(Exit::refused,
                     where(file, kv.first.Mark()) + ": \"" + key + "\" is given twice");
        }
        o[key] = to_json(kv.second, file);
      }
      return o;
    }
  }
  return nullptr;
}

// The list of tasks a document holds: the document itself, its `tasks`, or the one task
// that it is.
const YAML::Node task_list(const YAML::Node& doc, const std::string& file) {
  if (doc.IsSequence()) return doc;
  if (doc.IsMap() && !doc["tasks"]) {
    YAML::Node one(YAML::NodeType::Sequence);
    one.push_back(doc);
    return one;
  }
  if (doc.IsMap()) {
    for (const auto& kv : doc) {
      if (!kv.first.IsScalar() || kv.first.Scalar() != "tasks") {
        throw Stop(Exit::refused, where(file, kv.first.Mark()) + ": \"" +
                                      (kv.first.IsScalar() ? kv.first.Scalar() : "?") +
                                      "\" is not known here: a file holds tasks: [...]");
      }
    }
    const YAML::Node tasks = doc["tasks"];
    if (tasks.IsSequence()) return tasks;
    if (tasks.IsNull()) return YAML::Node(YAML::NodeType::Sequence);
    throw Stop(Exit::refused, where(file, tasks.Mark()) + ": tasks must be a list of tasks");
  }
  if (doc.IsNull()) return YAML::Node(YAML::NodeType::Sequence);
  throw Stop(Exit::refused,
             where(file, doc.Mark()) + ": a file holds a list of tasks, or tasks: [...]");
}

void read_yaml(const std::string& text, const std::string& file, TaskFiles& out) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw Stop(Exit::refused, where(file, e.mark) + ": " + e.msg);
  }
  for (const auto& doc : docs) {
    for (const auto& item : task_list(doc, file)) {
      if (!item.IsMap()) {
        throw Stop(Exit::refused,
                   where(file, item.Mark()) + ": a task is a map of its fields (name, type, ...)");
      }
      Source source{file, item.Mark().line + 1, {}};
      for (const auto& kv : item) {
        if (kv.first.IsScalar()) source.field_lines[kv.first.Scalar()] = kv.first.Mark().line + 1;
      }
      out.tasks.push_back(to_json(item, file));
      out.sources.push_back(std::move(source));
    }
  }
}

void read_json(const std::string& text, const std::string& file, TaskFiles& out) {
  json::stream_parser p;
  boost::system::error_code ec;
  const std::size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    const std::size_t at = std::min(used, text.size());
    const auto line = std::count(text.begin(), text.begin() + static_cast<long>(at), '\n') + 1;
    const auto start = text.rfind('\n', at == 0 ? 0 : at - 1);
    const auto column = at - (start == std::string::npos ? 0 : start + 1) + 1;
    throw Stop(Exit::refused, file + ":" + std::to_string(line) + ":" + std::to_string(column) +
                                  ": " + ec.message());
  }
  json::value doc = p.release();
  json::array* tasks = doc.if_array();
  if (auto* o = doc.if_object(); o && !o->contains("tasks")) {
    doc = json::array{std::move(doc)};  // one task
    tasks = doc.if_array();
  } else if (o) {
    for (const auto& [key, value] : *o) {
      if (key != "tasks") {
        throw Stop(Exit::refused, file + ": \"" + std::string(key) +
                                      "\" is not known here: a file holds tasks: [...]");
      }
    }
    auto* t = o->if_contains("tasks");
    tasks = t ? t->if_array() : nullptr;
  }
  if (!tasks)
    throw Stop(Exit::refused, file + ": a file holds a list of tasks, or {\"tasks\": [...]}");
  for (auto& t : *tasks) {
    if (!t.is_object()) throw Stop(Exit::refused, file + ": a task is an object of its fields");
    out.tasks.push_back(std::move(t));
    out.sources.push_back({file, 0, {}});
  }
}

void emit(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      out << YAML::Null;
      break;
    case json::kind::bool_:
      out << v.get_bool();
      break;
    case json::kind::int64:
      out << v.get_int64();
      break;
    case json::kind::uint64:
      out << v.get_uint64();
      break;
    case json::kind::double_:
      out << v.get_double();
      break;
    case json::kind::string:
      out << YAML::DoubleQuoted << std::string(v.get_string());
      break;
    case json::kind::array: {
      const auto& a = v.get_array();
      const bool plain = std::ranges::none_of(
          a, [](const json::value& x) { return x.is_object() || x.is_array(); });
      if (plain) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& x : a)
        emit(out, x);
      out << YAML::EndSeq;
      break;
    }
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [key, x] : o) {
        out << YAML::Key << std::string(key) << YAML::Value;
        emit(out, x);
      }
      out << YAML::EndMap;
      break;
    }
  }
}

void pretty(const json::value& v, std::string& out, int indent) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  if (const auto* a = v.if_array(); a && !a->empty()) {
    out += "[\n";
    for (std::size_t i = 0; i < a->size(); ++i) {
      out += pad;
      pretty((*a)[i], out, indent + 2);
      out += i + 1 < a->size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<std::size_t>(indent), ' ') + "]";
  } else if (const auto* o = v.if_object(); o && !o->empty()) {
    out += "{\n";
    std::size_t i = 0;
    for (const auto& [key, x] : *o) {
      out += pad + json::serialize(json::string(key)) + ": ";
      pretty(x, out, indent + 2);
      out += ++i < o->size() ? ",\n" : "\n";
    }
    out += std::string(static_cast<std::size_t>(indent), ' ') + "}";
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

void read_task_file(const std::string& path, TaskFiles& out) {
  std::string text;
  const std::string file = path == "-" ? "(stdin)" : path;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in{path, std::ios::binary};
    if (!in) throw Stop(Exit::usage, "cannot read " + path + ": " + std::strerror(errno));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool is_json = path.ends_with(".json") || (path == "-" && first != std::string::npos &&
                                                   (text[first] == '{' || text[first] == '['));
  if (is_json) {
    read_json(text, file, out);
  } else {
    read_yaml(text, file, out);
  }
}

std::string to_yaml(const json::array& tasks) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetNullFormat(YAML::LowerNull);
  out << YAML::BeginMap << YAML::Key << "tasks" << YAML::Value;
  if (tasks.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const auto& t : tasks)
    emit(out, t);
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string to_pretty_json(const json::value& v) {
  std::string out;
  pretty(v, out, 0);
  return out + "\n";
}

}  // namespace cronkit::client
