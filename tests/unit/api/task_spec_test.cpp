// The task validator: every field, every rule, every refusal names its field.
#include "api/task_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace cronkit::api {
namespace {

using ::testing::HasSubstr;

class TaskSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.add("say", [](const TaskContext&) { return TaskResult{}; });
    registry_.add("cleanup", [](const TaskContext&) { return TaskResult{}; });
  }

  std::expected<Task, FieldErrors> create(std::string_view body) {
    return task_from_create(boost::json::parse(body), registry_, rules_);
  }

  // The single problem a body has: its field and message.
  FieldError only_error(std::string_view body) {
    auto r = create(body);
    EXPECT_FALSE(r.has_value()) << body;
    if (r || r.error().empty()) return {};
    EXPECT_EQ(r.error().size(), 1u)
        << body << " -> " << r.error()[0].field << ", " << r.error().back().field;
    return r.error()[0];
  }

  Registry registry_;
  TaskRules rules_{.commands_allowed = true};
};

constexpr std::string_view kFunction =
    R"({"name":"n","cronExpression":"* * * * *","type":"function","functionName":"say"})";

TEST_F(TaskSpecTest, AcceptsAFunctionTaskWithDefaults) {
  auto t = create(kFunction);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->name, "n");
  EXPECT_EQ(t->timezone, "UTC");
  EXPECT_EQ(t->type, TaskType::function);
  EXPECT_EQ(t->function_name, "say");
  EXPECT_TRUE(t->enabled);
  EXPECT_EQ(t->catch_up_policy, CatchUpPolicy::none);
  EXPECT_EQ(t->max_retries, 0);
  EXPECT_EQ(t->retry_delay_seconds, 60);
  EXPECT_EQ(t->timeout_seconds, 300);
  EXPECT_EQ(t->overlap_policy, OverlapPolicy::allow);
  EXPECT_EQ(t->retry_backoff, RetryBackoff::fixed);
  EXPECT_EQ(t->retry_max_delay_seconds, 3600);
  auto exponential = create(
      R"({"name":"n","cronExpression":"* * * * *","type":"function","functionName":"say",
          "retryBackoff":"exponential","retryMaxDelaySeconds":600})");
  ASSERT_TRUE(exponential.has_value());
  EXPECT_EQ(exponential->retry_backoff, RetryBackoff::exponential);
  EXPECT_EQ(exponential->retry_max_delay_seconds, 600);
}

TEST_F(TaskSpecTest, AcceptsAnHttpTaskWithEveryField) {
  auto t = create(R"({"name":"ping","cronExpression":"0 */5 * * * *","timezone":"Europe/Paris",
    "type":"http","httpMethod":"POST","httpUrl":"https://example.com/hook?a=1",
    "httpHeaders":"{\"Authorization\":\"Bearer x\"}","httpBody":"{}","catchUp":1,"enabled":false,
    "maxRetries":100,"retryDelaySeconds":1,"timeoutSeconds":86400,"overlapPolicy":"skip"})");
  ASSERT_TRUE(t.has_value()) << t.error()[0].field << ": " << t.error()[0].message;
  EXPECT_EQ(t->http_url, "https://example.com/hook?a=1");
  EXPECT_EQ(t->catch_up_policy, CatchUpPolicy::latest);
  EXPECT_FALSE(t->enabled);
  EXPECT_EQ(t->max_retries, 100);
  EXPECT_EQ(t->overlap_policy, OverlapPolicy::skip);
}

TEST_F(TaskSpecTest, NamesTheFieldAndTheReason) {
  struct Case {
    std::string body;
    std::string field;
    std::string message;
  };
  const std::string f = R"("type":"function","functionName":"say")";
  const std::string h = R"("name":"n","cronExpression":"* * * * *","type":"http")";
  const Case cases[] = {
      {R"({"cronExpression":"* * * * *",)" + f + "}", "name", "is required"},
      {R"({"name":"   ","cronExpression":"* * * * *",)" + f + "}", "name", "blank"},
      {R"({"name":")" + std::string(201, 'x') + R"(","cronExpression":"* * * * *",)" + f + "}",
       "name", "at most 200 characters"},
      {R"({"name":7,"cronExpression":"* * * * *",)" + f + "}", "name", "must be a string"},
      {R"({"name":"n",)" + f + "}", "cronExpression", "is required"},
      {R"({"name":"n","cronExpression":"0 25 * * *",)" + f + "}", "cronExpression",
       "hour: 25 is out of range 0-23"},
      {R"({"name":"n","cronExpression":"* * * * *","timezone":"Mars/Olympus",)" + f + "}",
       "timezone", "Mars/Olympus"},
      {R"({"name":"n","cronExpression":"* * * * *"})", "type", "is required"},
      {R"({"name":"n","cronExpression":"* * * * *","type":"shell"})", "type",
       R"(must be "function", "http" or "command")"},
      {R"({"name":"n","cronExpression":"* * * * *","type":"function"})", "functionName",
       "is required"},
      {R"({"name":"n","cronExpression":"* * * * *","type":"function","functionName":"nope"})",
       "functionName", "registered: cleanup, say"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"functionPayload":"{oops"})",
       "functionPayload", "not valid JSON"},
      {"{" + h + "}", "httpUrl", "is required"},
      {"{" + h + R"(,"httpUrl":"file:///etc/passwd"})", "httpUrl", "http or https"},
      {"{" + h + R"(,"httpUrl":"gopher://x/"})", "httpUrl", "http or https"},
      {"{" + h + R"(,"httpUrl":"not a url"})", "httpUrl", "URL"},
      {"{" + h + R"(,"httpUrl":"http://x/","httpMethod":"TRACE"})", "httpMethod", "one of"},
      {"{" + h + R"(,"httpUrl":"http://x/","httpHeaders":"[1]"})", "httpHeaders", "JSON object"},
      {"{" + h + R"(,"httpUrl":"http://x/","httpHeaders":"{\"a\":1}"})", "httpHeaders",
       "must be a string"},
      {"{" + h + R"(,"httpUrl":"http://x/","httpHeaders":"{\"a b\":\"c\"}"})", "httpHeaders",
       "invalid header name"},
      {"{" + h + R"(,"httpUrl":"http://x/","httpHeaders":"{\"a\":\"b\\r\\nX-Evil: 1\"}"})",
       "httpHeaders", "line break"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"maxRetries":101})", "maxRetries",
       "between 0 and 100"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"maxRetries":-1})", "maxRetries",
       "between 0 and 100"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"maxRetries":1.5})", "maxRetries",
       "whole number"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f +
           R"(,"retryDelaySeconds":99999999999999999999})",
       "retryDelaySeconds", "between 1 and 86400"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"timeoutSeconds":0})",
       "timeoutSeconds", "between 1 and 86400"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"timeoutSeconds":"5"})",
       "timeoutSeconds", "must be a number"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"enabled":2})", "enabled",
       "true, false, 0 or 1"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"startAt":-1})", "startAt",
       "milliseconds since 1970"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"endAt":"tomorrow"})", "endAt",
       "must be a number (epoch milliseconds) or null, not a string"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"startAt":2000,"endAt":1000})",
       "endAt", "must not be before startAt"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"retryBackoff":"linear"})",
       "retryBackoff", R"(must be "fixed" or "exponential")"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"retryMaxDelaySeconds":0})",
       "retryMaxDelaySeconds", "between 1 and 86400"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"overlapPolicy":"queue"})",
       "overlapPolicy", R"(must be "allow", "skip", "replace", "buffer_one" or "buffer_all")"},
      {R"({"name":"n","cronExpression":"* * * * *",)" + f + R"(,"owner":"me"})", "owner",
       "is not a field of a task"},
  };
  for (const auto& c : cases) {
    FieldError e = only_error(c.body);
    EXPECT_EQ(e.field, c.field) << c.body;
    EXPECT_THAT(e.message, HasSubstr(c.message)) << c.body;
  }
}

TEST_F(TaskSpecTest, AcceptsACommandTaskWithEveryField) {
  auto t = create(R"({"name":"backup","cronExpression":"0 3 * * *","type":"command",
    "command":["pg_dump","--format=custom","app db"],"workingDirectory":"/var/backups",
    "environment":{"PGHOST":"db","_X1":""},"commandInput":"line\n"})");
  ASSERT_TRUE(t.has_value()) << t.error()[0].field << ": " << t.error()[0].message;
  EXPECT_EQ(t->type, TaskType::command);
  EXPECT_EQ(t->command, R"(["pg_dump","--format=custom","app db"])");
  EXPECT_EQ(t->working_directory, "/var/backups");
  EXPECT_EQ(t->environment, R"({"PGHOST":"db","_X1":""})");
  EXPECT_EQ(t->command_input, "line\n");
  auto minimal = create(R"({"name":"t","cronExpression":"* * * * *","type":"command",
    "command":["true"]})");
  ASSERT_TRUE(minimal.has_value());
  EXPECT_FALSE(minimal->working_directory);
  EXPECT_FALSE(minimal->environment);
  EXPECT_FALSE(minimal->command_input);
}

TEST_F(TaskSpecTest, NamesTheCommandFieldAndTheReason) {
  const std::string c = R"("name":"n","cronExpression":"* * * * *","type":"command")";
  const std::string ok = c + R"(,"command":["true"])";
  struct Case {
    std::string body;
    std::string field;
    std::string message;
  };
  const Case cases[] = {
      {"{" + c + "}", "command", "is required for a command task"},
      {"{" + c + R"(,"command":"echo hi"})", "command", "must be an array of strings"},
      {"{" + c + R"(,"command":[]})", "command", "must have 1 to 256 items"},
      {"{" + c + R"(,"command":["ls",7]})", "command[1]", "must be a string, not a number"},
      {"{" + c + R"(,"command":[""]})", "command[0]", "the program must not be empty"},
      {"{" + c + R"(,"command":["a\u0000b"]})", "command[0]", "must not contain NUL"},
      {"{" + ok + R"(,"workingDirectory":"relative/dir"})", "workingDirectory",
       "must be an absolute path"},
      {"{" + ok + R"(,"workingDirectory":""})", "workingDirectory", "must be an absolute path"},
      {"{" + ok + R"(,"environment":["A=1"]})", "environment", "must be an object"},
      {"{" + ok + R"(,"environment":{"1A":"x"}})", "environment", "invalid variable name \"1A\""},
      {"{" + ok + R"(,"environment":{"A-B":"x"}})", "environment", "invalid variable name"},
      {"{" + ok + R"(,"environment":{"CRONKIT_TASK_ID":"x"}})", "environment.CRONKIT_TASK_ID",
       "is reserved"},
      {"{" + ok + R"(,"environment":{"A":1}})", "environment.A", "must be a string, not a number"},
      {"{" + ok + R"(,"environment":{"A":"x\u0000"}})", "environment.A", "must not contain NUL"},
      {"{" + ok + R"(,"commandInput":")" + std::string(262145, 'i') + R"("})", "commandInput",
       "at most 262144 bytes"},
      {"{" + ok + R"(,"commandInput":5})", "commandInput", "must be a string or null"},
  };
  for (const auto& k : cases) {
    FieldError e = only_error(k.body);
    EXPECT_EQ(e.field, k.field) << k.body.substr(0, 200);
    EXPECT_THAT(e.message, HasSubstr(k.message)) << k.body.substr(0, 200);
  }
  std::string many = "{" + c + R"(,"command":[)";
  for (int i = 0; i < 257; ++i)
    many += std::string(i ? "," : "") + R"("a")";
  EXPECT_EQ(only_error(many + "]}").message,
            "must have 1 to 256 items (the program and its arguments)");
  std::string big = "{" + c + R"(,"command":["a",")" + std::string(131072, 'x') + R"("]})";
  EXPECT_EQ(only_error(big).field, "command");
}

TEST_F(TaskSpecTest, CommandTasksAreRefusedWhenTheServerDoesNotAllowThem) {
  rules_.commands_allowed = false;
  FieldError e = only_error(
      R"({"name":"n","cronExpression":"* * * * *","type":"command","command":["true"]})");
  EXPECT_EQ(e.field, "type");
  EXPECT_EQ(e.message,
            "command tasks are off on this server: start it with --allow-commands "
            "(CRONKIT_ALLOW_COMMANDS=1) to create them");
  Task function = *task_from_create(boost::json::parse(kFunction), registry_);
  auto switched = task_from_update(boost::json::parse(R"({"type":"command","command":["true"]})"),
                                   function, registry_, rules_);
  ASSERT_FALSE(switched.has_value());
  EXPECT_EQ(switched.error()[0].field, "type");
  // Other types are not concerned.
  EXPECT_TRUE(create(kFunction).has_value());
}

TEST_F(TaskSpecTest, ReportsEveryProblemAtOnce) {
  auto r = create(R"({"name":"","cronExpression":"61 * * * *","type":"function","x":1})");
  ASSERT_FALSE(r.has_value());
  std::vector<std::string> fields;
  for (const auto& e : r.error())
    fields.push_back(e.field);
  EXPECT_THAT(fields,
              ::testing::UnorderedElementsAre("x", "name", "cronExpression", "functionName"));
}

TEST_F(TaskSpecTest, RefusesABodyThatIsNotAnObject) {
  for (auto body : {"[]", "null", "\"task\"", "42"}) {
    auto e = only_error(body);
    EXPECT_EQ(e.field, "body") << body;
  }
}

TEST_F(TaskSpecTest, UpdateIsPartialAndChecksTheMergedTask) {
  Task current = *create(kFunction);
  current.id = "keep";
  auto renamed = task_from_update(boost::json::parse(R"({"name":"renamed"})"), current, registry_);
  ASSERT_TRUE(renamed.has_value());
  EXPECT_EQ(renamed->name, "renamed");
  EXPECT_EQ(renamed->id, "keep");
  EXPECT_EQ(renamed->cron_expression, "* * * * *");

  // Becoming an http task needs a URL.
  auto to_http = task_from_update(boost::json::parse(R"({"type":"http"})"), current, registry_);
  ASSERT_FALSE(to_http.has_value());
  EXPECT_EQ(to_http.error()[0].field, "httpUrl");

  // null clears an optional field; a required one cannot be cleared.
  auto cleared =
      task_from_update(boost::json::parse(R"({"functionName":null})"), current, registry_);
  ASSERT_FALSE(cleared.has_value());
  EXPECT_EQ(cleared.error()[0].field, "functionName");
  auto empty = task_from_update(boost::json::parse("{}"), current, registry_);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, current);
}

// Found by the task-spec fuzzer: a field of the other type was stored unchecked, so that
// the API handed back a payload that is not JSON or headers that could not be sent.
TEST_F(TaskSpecTest, ChecksTheFieldsOfTheOtherTypeToo) {
  const std::string f =
      R"("name":"n","cronExpression":"* * * * *","type":"function","functionName":"say")";
  EXPECT_EQ(only_error("{" + f + R"(,"httpHeaders":"{"})").field, "httpHeaders");
  EXPECT_EQ(only_error("{" + f + R"(,"httpUrl":"file:///etc/passwd"})").field, "httpUrl");
  EXPECT_EQ(only_error("{" + f + R"(,"httpMethod":"TRACE"})").field, "httpMethod");
  const std::string h =
      R"("name":"n","cronExpression":"* * * * *","type":"http","httpUrl":"http://a/")";
  EXPECT_EQ(only_error("{" + h + R"(,"functionPayload":"{\"days\"7:}"})").field, "functionPayload");

  Task current = *create("{" + h + "}");
  auto updated =
      task_from_update(boost::json::parse(R"({"functionPayload":"{"})"), current, registry_);
  ASSERT_FALSE(updated.has_value());
  EXPECT_EQ(updated.error()[0].field, "functionPayload");
  // A function name is checked against the registry only when the task runs a function.
  EXPECT_TRUE(create("{" + h + R"(,"functionName":"not-registered"})").has_value());
}

// A NUL would cut the text short wherever it meets C (libcurl reads the URL up to it), so
// the task would not be what was checked; control characters have no place in a name.
TEST_F(TaskSpecTest, RefusesNulAndControlCharacters) {
  using namespace std::string_literals;
  const std::string h = R"("cronExpression":"* * * * *","type":"http")";
  EXPECT_EQ(only_error("{" + h + R"(,"name":"a\u0000b","httpUrl":"http://a/"})"),
            (FieldError{"name", "must not contain control characters"}));
  EXPECT_EQ(only_error("{" + h + R"(,"name":"a\u001bb","httpUrl":"http://a/"})").field, "name");
  EXPECT_EQ(only_error("{" + h + R"(,"name":"n","httpUrl":"http://a/\u0000http://b/"})"),
            (FieldError{"httpUrl", "must not contain NUL characters"}));
  EXPECT_EQ(only_error("{" + h + R"(,"name":"n","httpUrl":"http://a/","httpBody":"\u0000"})").field,
            "httpBody");
  // Tabs and line breaks are text in a body or a payload.
  EXPECT_TRUE(
      create("{" + h + R"(,"name":"n","httpUrl":"http://a/","httpBody":"a\tb\r\nc"})").has_value());
}

// Found by the hostile-input suite: a URL of 900,000 characters was stored.
TEST_F(TaskSpecTest, BoundsTheUrlAndTheHeaders) {
  const std::string h = R"("name":"n","cronExpression":"* * * * *","type":"http")";
  const std::string at_limit = "http://a/" + std::string(kMaxUrlBytes - 9, 'x');
  EXPECT_TRUE(create("{" + h + R"(,"httpUrl":")" + at_limit + "\"}").has_value());
  EXPECT_EQ(only_error("{" + h + R"(,"httpUrl":")" + at_limit + "x\"}"),
            (FieldError{"httpUrl", "must be at most 8192 bytes"}));
  std::string headers = R"({\"A\":\")" + std::string(kMaxHeadersBytes, 'v') + R"(\"})";
  EXPECT_EQ(only_error("{" + h + R"(,"httpUrl":"http://a/","httpHeaders":")" + headers + "\"}"),
            (FieldError{"httpHeaders", "must be at most 16384 bytes"}));
}

TEST_F(TaskSpecTest, BoundsEveryTextField) {
  // A pattern of 100 KB ("1,1,1,...") was accepted, stored and sent back in every list.
  const std::string f = R"("name":"n","type":"function","functionName":"say")";
  std::string pattern = "0";
  while (pattern.size() < kMaxCronChars - 10)
    pattern += ",0";
  pattern += " * * * *";
  ASSERT_LE(pattern.size(), kMaxCronChars);
  EXPECT_TRUE(create("{" + f + R"(,"cronExpression":")" + pattern + R"("})").has_value());
  std::string long_pattern = "1";
  while (long_pattern.size() < 100000)
    long_pattern += ",1";
  EXPECT_EQ(only_error("{" + f + R"(,"cronExpression":")" + long_pattern + R"( * * * *"})"),
            (FieldError{"cronExpression", "must be at most 1024 characters"}));
  EXPECT_EQ(only_error("{" + f + R"(,"cronExpression":"* * * * *","functionPayload":"\")" +
                       std::string(kMaxTextBytes, 'p') + R"(\""})"),
            (FieldError{"functionPayload", "must be at most 262144 bytes"}));
  const std::string h =
      R"("name":"n","cronExpression":"* * * * *","type":"http","httpUrl":"http://a/")";
  EXPECT_EQ(
      only_error("{" + h + R"(,"httpBody":")" + std::string(kMaxTextBytes + 1, 'b') + R"("})"),
      (FieldError{"httpBody", "must be at most 262144 bytes"}));
  EXPECT_EQ(only_error("{" + h + R"(,"timezone":")" + std::string(300, 'z') + R"("})").field,
            "timezone");
}

}  // namespace
}  // namespace cronkit::api
