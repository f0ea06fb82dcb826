// Task files as the CLI reads and writes them: YAML's core-schema types, the file shapes,
// errors at their file, line and column, and the export's YAML read back as the same JSON.
#include "client/documents.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>

#include "client/client.h"
#include "client/output.h"

namespace cronkit::client {
namespace {

namespace json = boost::json;

class DocumentsTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream{path} << text;
    return path.string();
  }
  TaskFiles read(const std::string& name, const std::string& text) {
    TaskFiles files;
    read_task_file(write(name, text), files);
    return files;
  }
  // The message and exit status of a file that is refused.
  std::pair<std::string, Exit> refused(const std::string& name, const std::string& text) {
    try {
      read(name, text);
    } catch (const Stop& s) {
      return {s.what(), s.exit};
    }
    return {"(read)", Exit::ok};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_ = [] {
    auto d =
        std::filesystem::temp_directory_path() /
        ("cronkit-documents-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(d);
    return d;
  }();
};

TEST_F(DocumentsTest, PlainScalarsAreTypedAsYamlsCoreSchemaQuotedOnesAreStrings) {
  auto files = read("types.yaml", R"(- name: t
  n: 42
  negative: -7
  big: 99999999999999999999
  float: 1.5
  yes: true
  no: False
  none: ~
  empty:
  word: hello world
  quoted: "007"
  single: '42'
  plain007: 007
  explicit: !!str 12
  list: [a, 1, "2"]
)");
  ASSERT_EQ(files.tasks.size(), 1u);
  EXPECT_EQ(json::serialize(files.tasks[0]),
            R"({"name":"t","n":42,"negative":-7,"big":1E20,"float":1.5E0,"yes":true,"no":false,)"
            R"("none":null,"empty":null,"word":"hello world","quoted":"007","single":"42",)"
            R"("plain007":7,"explicit":"12","list":["a",1,"2"]})");
  EXPECT_EQ(files.sources[0].line, 1);
  EXPECT_EQ(files.sources[0].field_lines.at("word"), 10);
}

TEST_F(DocumentsTest, AFileIsAListTasksOrOneTaskAndDocumentsAddUp) {
  EXPECT_EQ(read("list.yaml", "- name: a\n- name: b\n").tasks.size(), 2u);
  EXPECT_EQ(read("tasks.yaml", "tasks:\n  - name: a\n").tasks.size(), 1u);
  EXPECT_EQ(read("one.yaml", "name: a\ntype: http\n").tasks.size(), 1u);
  EXPECT_EQ(read("docs.yaml", "- name: a\n---\ntasks: [{name: b}]\n---\nname: c\n").tasks.size(),
            3u);
  EXPECT_EQ(read("empty.yaml", "tasks:\n").tasks.size(), 0u);
  EXPECT_EQ(read("tasks.json", R"({"tasks": [{"name": "a"}, {"name": "b"}]})").tasks.size(), 2u);
  EXPECT_EQ(read("one.json", R"({"name": "a"})").tasks.size(), 1u);
}

TEST_F(DocumentsTest, RefusedFilesNameTheirFileLineAndColumn) {
  auto [syntax, code] = refused("syntax.yaml", "tasks:\n  - name: x\n    tags: [a, b\n");
  EXPECT_EQ(code, Exit::refused);
  EXPECT_TRUE(syntax.starts_with(dir_.string() + "/syntax.yaml:")) << syntax;
  EXPECT_EQ(refused("twice.yaml", "- name: x\n  name: y\n").first,
            dir_.string() + "/twice.yaml:2:3: \"name\" is given twice");
  EXPECT_EQ(refused("scalar.yaml", "- just text\n").first,
            dir_.string() + "/scalar.yaml:1:3: a task is a map of its fields (name, type, ...)");
  EXPECT_EQ(
      refused("other.yaml", "tasks: []\nextra: 1\n").first,
      dir_.string() + "/other.yaml:2:1: \"extra\" is not known here: a file holds tasks: [...]");
  EXPECT_EQ(refused("broken.json", "{\"tasks\": [\n  {\"name\": }\n]}").first,
            dir_.string() + "/broken.json:2:12: syntax error");
  TaskFiles none;
  try {
    read_task_file((dir_ / "missing.yaml").string(), none);
    FAIL() << "read a missing file";
  } catch (const Stop& s) {
    EXPECT_EQ(s.exit, Exit::usage);
  }
}

TEST_F(DocumentsTest, TheExportsYamlReadsBackAsTheSameJson) {
  const auto tasks = json::parse(R"([
    {"name": "a: b", "type": "command", "cronExpression": "*/5 * * * *", "enabled": false,
     "tags": ["team:x", "007"], "command": ["/bin/sh", "-c", "echo \"$X\" && cat"],
     "environment": {"X": "true", "Y": "", "Z": "null"}, "commandInput": "line\n\ttab \\ end\n",
     "functionPayload": "{\"ünï\": \"✓\"}", "startAt": 1767225600000, "maxRuns": 3,
     "notifications": [{"channel": "ops", "on": ["failure"], "afterFailures": 2}]},
    {"name": "#not a comment", "type": "http", "cronExpression": "@hourly", "tags": []}
  ])")
                         .as_array();
  const std::string yaml = to_yaml(tasks);
  const auto files = read("export.yaml", yaml);
  EXPECT_EQ(json::value(files.tasks), json::value(tasks)) << yaml;
  EXPECT_EQ(to_yaml(files.tasks), yaml) << "the same text again";
  EXPECT_EQ(to_yaml({}), "tasks: []\n");
  EXPECT_EQ(to_pretty_json(json::parse(R"({"a": [1, {"b": []}], "c": {}})")),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}\n");
}

TEST(OutputTest, TablesFitTheWidthByCuttingTheColumnsThatShrink) {
  Table table{{"NAME", "TYPE", "ID"}, {true, false, false}};
  table.add({"a rather long task name", "http", "0123"});
  table.add({"short", "function", "4567"});
  std::ostringstream wide, narrow;
  table.print(wide, 0);
  EXPECT_EQ(wide.str(),
            "NAME                     TYPE      ID\n"
            "a rather long task name  http      0123\n"
            "short                    function  4567\n");
  table.print(narrow, 26);
  EXPECT_EQ(narrow.str(),
            "NAME        TYPE      ID\n"
            "a rather \u2026  http      0123\n"
            "short       function  4567\n");
  EXPECT_EQ(display_width(paint("ok", 32, true)), 2u);
  EXPECT_EQ(relative(1'000'000 + 250'000, 1'000'000), "in 4m 10s");
  EXPECT_EQ(relative(1'000'000, 1'000'000 + 7'500'000), "2h 5m ago");
  EXPECT_EQ(relative(5000, 5400), "now");
  EXPECT_EQ(relative(3 * 86'400'000LL + 3'600'000, 0), "in 3d 1h");
}

}  // namespace
}  // namespace cronkit::client
