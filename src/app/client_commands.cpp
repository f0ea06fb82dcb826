// The command-line client: each command is one or a few REST calls and what they answer,
// printed for people (tables, local times) or, with --output json, as the API's data.
#include "app/client_commands.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "client/client.h"
#include "client/documents.h"
#include "client/output.h"

namespace cronkit::app {
namespace {

namespace json = boost::json;
using client::Client;
using client::Exit;
using client::Stop;

// What every client command takes.
struct Connection {
  client::Options options;
  std::string output = "table";
  bool json() const { return output == "json"; }
};

void add_connection(CLI::App& cmd, Connection& c) {
  cmd.add_option("--server", c.options.server, "The server's base URL")
      ->envname("CRONKIT_SERVER")
      ->capture_default_str();
  cmd.add_option("--token", c.options.token, "The server's API token (never printed)")
      ->envname("CRONKIT_API_TOKEN");
  cmd.add_option("-o,--output", c.output, "table: for people; json: the API's data, for scripts")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A field of an object as text: strings as they are, null as "", others as JSON.
std::string text_of(const json::value& o, std::string_view key) {
  const auto* obj = o.if_object();
  const auto* v = obj ? obj->if_contains(key) : nullptr;
  if (!v || v->is_null()) return "";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

std::optional<std::int64_t> int_of(const json::value& o, std::string_view key) {
  const auto* obj = o.if_object();
  const auto* v = obj ? obj->if_contains(key) : nullptr;
  if (v && v->is_int64()) return v->get_int64();
  return std::nullopt;
}

std::string when(const json::value& o, std::string_view key) {
  auto ms = int_of(o, key);
  return ms ? client::local_time(*ms) : "";
}

std::string duration(const json::value& e) {
  auto ms = int_of(e, "durationMs");
  if (!ms) return "";
  char text[32];
  if (*ms < 1000) return std::to_string(*ms) + "ms";
  std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(*ms) / 1000.0);
  return text;
}

void print_json(const json::value& v) {
  std::cout << client::to_pretty_json(v);
}

// A status, coloured by how it ended.
std::string status_text(const std::string& status, bool colours) {
  const int colour = status == "success"                           ? 32
                     : status == "failed" || status == "timed_out" ? 31
                     : status == "skipped"                         ? 2
                                                                   : 33;
  return client::paint(status, colour, colours);
}

// A task by its id, or by its exact name when only one task has it.
std::string task_id(const Client& c, const std::string& ref) {
  auto direct = c.call_raw("GET", "/api/scheduler/tasks/" + client::escape(ref));
  if (direct.status == 200) return ref;
  if (direct.status != 404) client::stop_for(direct);
  auto found = c.call("GET", "/api/scheduler/tasks?pageSize=500&name=" + client::escape(ref));
  std::vector<std::string> ids;
  for (const auto& t : found.data().at("list").as_array()) {
    if (text_of(t, "name") == ref) ids.push_back(text_of(t, "id"));
  }
  if (ids.empty()) throw Stop(Exit::not_found, "no task has the id or name \"" + ref + "\"");
  if (ids.size() > 1) {
    std::string list;
    for (const auto& id : ids)
      list += "\n  " + id;
    throw Stop(Exit::conflict, std::to_string(ids.size()) + " tasks are named \"" + ref +
                                   "\": give one's id" + list);
  }
  return ids.front();
}

// Runs a command's body, turning a Stop into its message and exit status.
void run(int& exit_code, const std::function<void()>& body) {
  try {
    body();
    exit_code = static_cast<int>(Exit::ok);
  } catch (const Stop& s) {
    std::cerr << "cronkit: " << s.what() << "\n";
    exit_code = static_cast<int>(s.exit);
  } catch (const std::exception& e) {
    std::cerr << "cronkit: " << e.what() << "\n";
    exit_code = static_cast<int>(Exit::failed);
  }
}

// ---- apply and export -------------------------------------------------------------------

// The plan an apply answered, as a diff.
void print_plan(const json::value& plan, bool colours) {
  const auto& p = plan.as_object();
  auto names = [&](std::string_view key) -> const json::array& { return p.at(key).as_array(); };
  for (const auto& e : names("created"))
    std::cout << client::paint("+ create  " + text_of(e, "name"), 32, colours) << "\n";
  for (const auto& e : names("updated")) {
    std::cout << client::paint("~ update  " + text_of(e, "name"), 33, colours) << "\n";
    for (const auto& change : e.at("changes").as_array()) {
      std::cout << "      " << text_of(change, "field") << ": "
                << client::paint(json::serialize(change.at("from")), 31, colours) << " \u2192 "
                << client::paint(json::serialize(change.at("to")), 32, colours) << "\n";
    }
  }
  for (const auto& e : names("deleted"))
    std::cout << client::paint("- delete  " + text_of(e, "name"), 31, colours) << "\n";
  const bool dry = p.at("dryRun").as_bool();
  std::cout << (dry ? "dry run, nothing changed: " : "applied: ") << names("created").size()
            << (dry ? " to create, " : " created, ") << names("updated").size()
            << (dry ? " to update, " : " updated, ") << names("deleted").size()
            << (dry ? " to delete, " : " deleted, ") << names("unchanged").size() << " unchanged\n";
}

// A refused apply's errors, each at its file and line.
[[noreturn]] void refuse_apply(const client::Answer& answer, const client::TaskFiles& files) {
  std::string message = "the apply was refused, nothing was changed:";
  for (const auto& e : answer.data().as_array()) {
    const auto index = int_of(e, "index");
    std::string field = text_of(e, "field");
    if (!index || *index < 0 || static_cast<std::size_t>(*index) >= files.sources.size()) {
      message += "\n  " + field + ": " + text_of(e, "message");
      continue;
    }
    const auto& source = files.sources[static_cast<std::size_t>(*index)];
    const std::string prefix = "tasks[" + std::to_string(*index) + "].";
    if (field.starts_with(prefix)) field.erase(0, prefix.size());
    int line = source.line;
    const std::string top = field.substr(0, field.find_first_of(".["));
    if (auto it = source.field_lines.find(top); it != source.field_lines.end()) line = it->second;
    const std::string name = text_of(files.tasks[static_cast<std::size_t>(*index)], "name");
    message += "\n  " + source.file + (line ? ":" + std::to_string(line) : "") + ": " +
               (name.empty() ? "task " + std::to_string(*index + 1) : name) + ": " + field + ": " +
               text_of(e, "message");
  }
  throw Stop(Exit::refused, message);
}

void add_apply(CLI::App& app, int& exit_code) {
  struct Args {
    Connection c;
    std::vector<std::string> files;
    bool prune = false;
    std::vector<std::string> selector;
    bool dry_run = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("apply",
                         "Make the server's tasks what the files say: create, update and (--prune) "
                         "delete, all at once or not at all");
  cmd->add_option("-f,--file", a->files, "A task file, YAML or JSON (- for standard input)")
      ->required();
  cmd->add_flag("--prune", a->prune,
                "Delete the tasks that carry every --selector tag and are not in the files");
  cmd->add_option("--selector", a->selector,
                  "Tags (a,b) of the tasks these files own: each task must carry them")
      ->delimiter(',');
  cmd->add_flag("--dry-run", a->dry_run, "Show the plan; change nothing");
  add_connection(*cmd, a->c);
  cmd->callback([a, &exit_code] {
    run(exit_code, [&] {
      if (a->prune && a->selector.empty()) {
        throw Stop(Exit::usage, "--prune needs --selector: the tags of the tasks the files own");
      }
      client::TaskFiles files;
      for (const auto& f : a->files)
        client::read_task_file(f, files);
      json::array selector;
      for (const auto& tag : a->selector)
        selector.emplace_back(tag);
      const Client c{a->c.options};
      auto answer = c.call_raw("POST", "/api/scheduler/apply",
                               json::object{{"tasks", files.tasks},
                                            {"prune", a->prune},
                                            {"selector", std::move(selector)},
                                            {"dryRun", a->dry_run}});
      if (answer.status == 422 && answer.data().is_array()) refuse_apply(answer, files);
      if (answer.status == 409 && answer.data().is_array()) {
        std::string names;
        for (const auto& n : answer.data().as_array()) {
          names += "\n  \"" + text_of(n, "name") + "\":";
          for (const auto& id : n.at("ids").as_array())
            names += " " + std::string(id.as_string());
        }
        throw Stop(Exit::conflict,
                   "names that match several tasks on the server (an apply changes a task by "
                   "its name: rename or delete the others first):" +
                       names);
      }
      if (answer.status >= 400) client::stop_for(answer);
      if (a->c.json()) {
        print_json(answer.data());
      } else {
        print_plan(answer.data(), client::colours());
      }
    });
  });
}

void add_export(CLI::App& app, int& exit_code) {
  struct Args {
    Connection c;
    std::vector<std::string> selector;
    std::string format = "yaml";
    std::string to;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "export", "Write the server's tasks as a file that cronkit apply takes back");
  cmd->add_option("--selector", a->selector, "Only tasks carrying every one of these tags (a,b)")
      ->delimiter(',');
  cmd->add_option("--format", a->format, "yaml or json")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->capture_default_str();
  cmd->add_option("--to", a->to, "Write to this file rather than standard output");
  add_connection(*cmd, a->c);
  cmd->callback([a, &exit_code] {
    run(exit_code, [&] {
      std::string query;
      for (const auto& tag : a->selector)
        query += (query.empty() ? "?tag=" : "&tag=") + client::escape(tag);
      const Client c{a->c.options};
      auto answer = c.call("GET", "/api/scheduler/export" + query);
      const auto& tasks = answer.data().at("tasks").as_array();
      const std::string text = a->format == "json"
                                   ? client::to_pretty_json(json::object{{"tasks", tasks}})
                                   : client::to_yaml(tasks);
      if (a->to.empty()) {
        std::cout << text;
        return;
      }
      std::ofstream out{a->to, std::ios::binary | std::ios::trunc};
      out << text;
      out.flush();
      if (!out) throw Stop(Exit::usage, "cannot write " + a->to);
      std::cerr << "exported " << tasks.size() << " tasks to " << a->to << "\n";
    });
  });
}

// ---- tasks ---------------------------------------------------------------------------------

void print_execution(const json::value& e, bool colours);

void print_task(const json::value& data, bool colours) {
  const auto& t = data.at("task");
  const auto now = now_ms();
  client::Table fields{{"", ""}};
  auto row = [&](std::string name, std::string value) {
    if (!value.empty()) fields.add({std::move(name), std::move(value)});
  };
  row("Name", text_of(t, "name"));
  row("Id", text_of(t, "id"));
  row("Type", text_of(t, "type"));
  row("Schedule", text_of(t, "cronExpression") + " (" + text_of(t, "timezone") + ")");
  const bool enabled = t.at("enabled").as_bool();
  row("Status",
      enabled ? client::paint("active", 32, colours)
              : client::paint("paused", 33, colours) +
                    (text_of(t, "pausedNote").empty() ? "" : ": " + text_of(t, "pausedNote")));
  if (auto next = int_of(t, "nextRun")) {
    row("Next run", client::local_time(*next) + " (" + client::relative(*next, now) + ")");
  }
  std::string tags;
  for (const auto& tag : t.at("tags").as_array())
    tags += (tags.empty() ? "" : ", ") + std::string(tag.as_string());
  row("Tags", tags);
  for (auto [label, key] : std::initializer_list<std::pair<const char*, const char*>>{
           {"Function", "functionName"},
           {"Payload", "functionPayload"},
           {"Method", "httpMethod"},
           {"URL", "httpUrl"},
           {"Command", "command"},
           {"Directory", "workingDirectory"}}) {
    row(label, text_of(t, key));
  }
  row("Timeout", text_of(t, "timeoutSeconds") + "s");
  row("Retries", text_of(t, "maxRetries") + " (" + text_of(t, "retryBackoff") + ", " +
                     text_of(t, "retryDelaySeconds") + "s)");
  row("Overlap", text_of(t, "overlapPolicy"));
  row("Catch-up", text_of(t, "catchUpPolicy"));
  row("Created", when(t, "createdAt"));
  row("Updated", when(t, "updatedAt"));
  fields.print(std::cout, 0);
  const auto& recent = data.at("recentExecutions").as_array();
  std::cout << "\nRecent executions:" << (recent.empty() ? " none" : "") << "\n";
  if (recent.empty()) return;
  client::Table table{{"SCHEDULED", "STATUS", "TRIGGER", "DURATION", "ATTEMPTS", "ID"}};
  for (const auto& e : recent) {
    table.add({when(e, "scheduledFor"), status_text(text_of(e, "status"), colours),
               text_of(e, "trigger"), duration(e), text_of(e, "attempts"), text_of(e, "id")});
  }
  table.print(std::cout, client::terminal_width());
}

// One task from a file (-f): its fields, as a map.
json::value one_task(const std::string& file) {
  client::TaskFiles files;
  client::read_task_file(file, files);
  if (files.tasks.size() != 1) {
    throw Stop(Exit::usage, file + " holds " + std::to_string(files.tasks.size()) +
                                " tasks; this command takes one (cronkit apply takes several)");
  }
  return files.tasks.front();
}

// Waits for a triggered run to end (polling its execution) and prints how it ended; a run
// that did not succeed stops with Exit::run_failed.
void wait_for(const Client& c, const json::value& triggered, bool as_json) {
  const std::string path =
      "/api/scheduler/executions/" + client::escape(text_of(triggered, "executionId"));
  for (;;) {
    auto answer = c.call("GET", path);
    const std::string status = text_of(answer.data(), "status");
    if (status != "queued" && status != "running") {
      if (as_json) {
        print_json(answer.data());
      } else {
        print_execution(answer.data(), client::colours());
      }
      if (status != "success") throw Stop(Exit::run_failed, "the run ended " + status);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void add_tasks(CLI::App& app, int& exit_code) {
  auto* tasks = app.add_subcommand("tasks",
                                   "List, show, create, change, run, pause, resume "
                                   "and delete tasks on a server");
  tasks->require_subcommand(1);

  {
    struct Args {
      Connection c;
      std::string type, name;
      std::vector<std::string> tags;
      bool enabled = false, paused = false;
      int page = 1, page_size = 100;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = tasks->add_subcommand("list", "The tasks, newest first");
    cmd->add_option("--type", a->type, "function, http or command")
        ->check(CLI::IsMember({"function", "http", "command"}));
    cmd->add_option("--name", a->name, "Only tasks whose name contains this");
    cmd->add_option("--tag", a->tags, "Only tasks carrying this tag (repeat: all of them)");
    auto* enabled = cmd->add_flag("--enabled", a->enabled, "Only enabled tasks");
    cmd->add_flag("--paused", a->paused, "Only paused tasks")->excludes(enabled);
    cmd->add_option("--page", a->page, "Page")->check(CLI::Range(1, 1000000));
    cmd->add_option("--page-size", a->page_size, "Tasks per page")
        ->check(CLI::Range(1, 500))
        ->capture_default_str();
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        std::string q =
            "?page=" + std::to_string(a->page) + "&pageSize=" + std::to_string(a->page_size);
        if (!a->type.empty()) q += "&type=" + a->type;
        if (a->enabled) q += "&enabled=true";
        if (a->paused) q += "&enabled=false";
        if (!a->name.empty()) q += "&name=" + client::escape(a->name);
        for (const auto& tag : a->tags)
          q += "&tag=" + client::escape(tag);
        auto answer = Client{a->c.options}.call("GET", "/api/scheduler/tasks" + q);
        if (a->c.json()) return print_json(answer.data());
        const bool colours = client::colours();
        const auto now = now_ms();
        client::Table table{
            {"NAME", "TYPE", "SCHEDULE", "STATUS", "NEXT RUN", "LAST", "TAGS", "ID"},
            {true, false, true, false, false, false, true, false}};
        const auto& list = answer.data().at("list").as_array();
        for (const auto& t : list) {
          std::string tags;
          for (const auto& tag : t.at("tags").as_array())
            tags += (tags.empty() ? "" : ",") + std::string(tag.as_string());
          auto next = int_of(t, "nextRun");
          table.add({text_of(t, "name"), text_of(t, "type"),
                     text_of(t, "cronExpression") + " " + text_of(t, "timezone"),
                     t.at("enabled").as_bool() ? "active" : client::paint("paused", 33, colours),
                     next ? client::relative(*next, now) : "-",
                     text_of(t, "lastStatus").empty()
                         ? "-"
                         : status_text(text_of(t, "lastStatus"), colours),
                     tags, text_of(t, "id")});
        }
        if (list.empty()) {
          std::cout << "no tasks\n";
        } else {
          table.print(std::cout, client::terminal_width());
        }
        const auto total = int_of(answer.data(), "total").value_or(0);
        if (total > static_cast<std::int64_t>(list.size())) {
          std::cout << list.size() << " of " << total << " tasks (page " << a->page
                    << "; --page for more)\n";
        }
      });
    });
  }

  {
    struct Args {
      Connection c;
      std::string task;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = tasks->add_subcommand("get", "A task's definition and its recent executions");
    cmd->add_option("TASK", a->task, "The task's id or name")->required();
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        const Client c{a->c.options};
        auto answer = c.call("GET", "/api/scheduler/tasks/" + client::escape(task_id(c, a->task)));
        if (a->c.json()) return print_json(answer.data());
        print_task(answer.data(), client::colours());
      });
    });
  }

  {
    struct Args {
      Connection c;
      std::string file;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = tasks->add_subcommand("create", "Create a task from a file (YAML or JSON)");
    cmd->add_option("-f,--file", a->file, "The task's fields (- for standard input)")->required();
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        auto answer = Client{a->c.options}.call("POST", "/api/scheduler/tasks", one_task(a->file));
        if (a->c.json()) return print_json(answer.data());
        std::cout << "created " << text_of(answer.data(), "name") << " ("
                  << text_of(answer.data(), "id") << ")\n";
      });
    });
  }

  {
    struct Args {
      Connection c;
      std::string task, file;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = tasks->add_subcommand(
        "update", "Change the fields a file gives (YAML or JSON); the others stay");
    cmd->add_option("TASK", a->task, "The task's id or name")->required();
    cmd->add_option("-f,--file", a->file, "The fields to change (- for standard input)")
        ->required();
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        const Client c{a->c.options};
        const json::value fields = one_task(a->file);
        auto answer =
            c.call("PUT", "/api/scheduler/tasks/" + client::escape(task_id(c, a->task)), fields);
        if (a->c.json()) return print_json(answer.data());
        std::cout << "updated " << text_of(answer.data(), "name") << " ("
                  << text_of(answer.data(), "id") << ")\n";
      });
    });
  }

  // delete, run, pause, resume: one call on one task.
  struct Action {
    const char* name;
    const char* help;
    const char* method;
    const char* path;  // after the task's id
    const char* done;
  };
  for (const Action& action : {
           Action{"delete", "Delete a task and its history", "DELETE", "", "deleted"},
           Action{"run", "Run a task now (a manual run)", "POST", "/trigger", "queued"},
           Action{"pause", "Pause a task: it fires no more until resumed", "POST", "/toggle",
                  "paused"},
           Action{"resume", "Resume a paused task", "POST", "/toggle", "resumed"},
       }) {
    struct Args {
      Connection c;
      std::string task, note;
      bool wait = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = tasks->add_subcommand(action.name, action.help);
    cmd->add_option("TASK", a->task, "The task's id or name")->required();
    const std::string verb = action.name;
    if (verb == "pause") cmd->add_option("--note", a->note, "Why (shown with the task)");
    if (verb == "run") {
      cmd->add_flag("--wait", a->wait,
                    "Wait until the run ends; exit 0 if it succeeded, 8 if it did not");
    }
    add_connection(*cmd, a->c);
    cmd->callback([a, action, verb, &exit_code] {
      run(exit_code, [&] {
        const Client c{a->c.options};
        const std::string id = task_id(c, a->task);
        std::optional<json::value> body;
        if (verb == "pause") {
          json::object o{{"enabled", false}};
          if (!a->note.empty()) o["note"] = a->note;
          body = std::move(o);
        } else if (verb == "resume") {
          body = json::object{{"enabled", true}};
        }
        auto answer =
            c.call(action.method, "/api/scheduler/tasks/" + client::escape(id) + action.path, body);
        if (verb == "run" && a->wait) return wait_for(c, answer.data(), a->c.json());
        if (a->c.json()) return print_json(answer.data());
        if (verb == "run") {
          std::cout << "queued execution " << text_of(answer.data(), "executionId") << "\n";
        } else {
          std::cout << action.done << " "
                    << (verb == "delete" ? a->task : text_of(answer.data(), "name")) << "\n";
        }
      });
    });
  }
}

// ---- executions and stats -------------------------------------------------------------

void print_execution(const json::value& e, bool colours) {
  client::Table fields{{"", ""}};
  auto row = [&](std::string name, std::string value) {
    if (!value.empty()) fields.add({std::move(name), std::move(value)});
  };
  row("Id", text_of(e, "id"));
  row("Task", text_of(e, "taskId"));
  row("Status", status_text(text_of(e, "status"), colours));
  row("Trigger", text_of(e, "trigger"));
  row("Scheduled", when(e, "scheduledFor"));
  row("Started", when(e, "startedAt"));
  row("Finished", when(e, "finishedAt"));
  row("Duration", duration(e));
  row("Attempts", text_of(e, "attempts"));
  row("Server", text_of(e, "nodeId"));
  row("Result", text_of(e, "resultSummary"));
  row("Error", text_of(e, "errorMessage"));
  fields.print(std::cout, 0);
  if (auto output = text_of(e, "output"); !output.empty()) {
    std::cout << "\nOutput:\n" << output << (output.ends_with('\n') ? "" : "\n");
  }
}

void add_executions(CLI::App& app, int& exit_code) {
  auto* executions = app.add_subcommand("executions", "List, show and follow executions");
  executions->require_subcommand(1);
  {
    struct Args {
      Connection c;
      std::string task, status, before;
      int page_size = 20;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = executions->add_subcommand("list", "Executions, newest first");
    cmd->add_option("--task", a->task, "Only this task's (its id or name)");
    cmd->add_option("--status", a->status, "Only executions in this state")
        ->check(CLI::IsMember({"queued", "running", "success", "failed", "timed_out", "skipped"}));
    cmd->add_option("--before", a->before, "The page after this cursor (printed below a page)");
    cmd->add_option("--page-size", a->page_size, "Executions per page")
        ->check(CLI::Range(1, 500))
        ->capture_default_str();
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        const Client c{a->c.options};
        std::string q = "?pageSize=" + std::to_string(a->page_size);
        if (!a->task.empty()) q += "&taskId=" + client::escape(task_id(c, a->task));
        if (!a->status.empty()) q += "&status=" + a->status;
        if (!a->before.empty()) q += "&before=" + client::escape(a->before);
        auto answer = c.call("GET", "/api/scheduler/executions" + q);
        if (a->c.json()) return print_json(answer.data());
        const bool colours = client::colours();
        client::Table table{{"SCHEDULED", "TASK", "STATUS", "TRIGGER", "DURATION", "ID"},
                            {false, true, false, false, false, false}};
        const auto& list = answer.data().at("list").as_array();
        for (const auto& e : list) {
          table.add({when(e, "scheduledFor"), text_of(e, "taskName"),
                     status_text(text_of(e, "status"), colours), text_of(e, "trigger"), duration(e),
                     text_of(e, "id")});
        }
        if (list.empty()) {
          std::cout << "no executions\n";
          return;
        }
        table.print(std::cout, client::terminal_width());
        if (auto next = text_of(answer.data(), "nextCursor"); !next.empty()) {
          std::cout << "older: --before " << next << "\n";
        }
      });
    });
  }
  {
    struct Args {
      Connection c;
      std::string id;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = executions->add_subcommand("get", "An execution: its times, result and output");
    cmd->add_option("ID", a->id, "The execution's id")->required();
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        auto answer =
            Client{a->c.options}.call("GET", "/api/scheduler/executions/" + client::escape(a->id));
        if (a->c.json()) return print_json(answer.data());
        print_execution(answer.data(), client::colours());
      });
    });
  }
  {
    struct Args {
      Connection c;
      std::string task;
      int count = 0;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = executions->add_subcommand(
        "follow", "Print executions as they are queued, start and finish, until interrupted");
    cmd->add_option("--task", a->task, "Only this task's (its id or name)");
    cmd->add_option("--count", a->count, "Stop after this many events")
        ->check(CLI::Range(1, 1000000));
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        client::Options streaming = a->c.options;
        const Client c{streaming};
        const std::string only = a->task.empty() ? "" : task_id(c, a->task);
        std::map<std::string, std::string, std::less<>> names;  // task id -> name
        auto name_of = [&](const std::string& id) {
          auto it = names.find(id);
          if (it != names.end()) return it->second;
          auto answer = c.call_raw("GET", "/api/scheduler/tasks/" + client::escape(id));
          std::string name = answer.status == 200 ? text_of(answer.data().at("task"), "name") : id;
          return names[id] = name;
        };
        const bool colours = client::colours();
        int seen = 0;
        if (!a->c.json()) std::cout << "following executions (Ctrl-C ends)" << std::endl;
        c.follow("/api/scheduler/events", [&](std::string_view event, std::string_view payload) {
          if (!event.starts_with("execution.")) return true;
          boost::system::error_code ec;
          json::value data = json::parse(payload, ec);
          if (ec) return true;
          const std::string task = text_of(data, "taskId");
          if (!only.empty() && task != only) return true;
          if (a->c.json()) {
            std::cout << json::serialize(json::object{{"event", event}, {"data", data}})
                      << std::endl;
          } else {
            std::cout << client::local_time(now_ms()) << "  " << std::string(event.substr(10))
                      << "  " << name_of(task) << "  "
                      << status_text(text_of(data, "status"), colours)
                      << (duration(data).empty() ? "" : "  " + duration(data)) << "  "
                      << text_of(data, "id")
                      << (text_of(data, "errorMessage").empty()
                              ? ""
                              : "  " + client::paint(text_of(data, "errorMessage"), 31, colours))
                      << std::endl;
          }
          return a->count == 0 || ++seen < a->count;
        });
      });
    });
  }
}

void add_stats(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<Connection>();
  auto* cmd = app.add_subcommand("stats", "The server's counts: tasks, runs, failures");
  add_connection(*cmd, *c);
  cmd->callback([c, &exit_code] {
    run(exit_code, [&] {
      auto answer = Client{c->options}.call("GET", "/api/scheduler/stats");
      if (c->json()) return print_json(answer.data());
      const auto& d = answer.data();
      client::Table table{{"", ""}};
      for (auto [label, key] : std::initializer_list<std::pair<const char*, const char*>>{
               {"Tasks", "totalTasks"},
               {"Enabled", "enabledTasks"},
               {"Scheduled", "scheduledJobs"},
               {"Running", "running"},
               {"Queued", "queued"},
               {"Runs, last 24 h", "last24hExecutions"},
               {"Failures, last 24 h", "last24hFailures"}}) {
        table.add({label, text_of(d, key)});
      }
      table.print(std::cout, 0);
    });
  });
}

// ---- tokens ------------------------------------------------------------------------------

// "90d", "12h", "30m", "2w": a time from now, in milliseconds.
std::int64_t parse_lifetime(const std::string& text) {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  static const std::map<std::string, std::int64_t> kUnits = {
      {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}, {"w", 7 * 86'400'000LL}};
  const auto unit = used > 0 ? kUnits.find(text.substr(used)) : kUnits.end();
  if (n <= 0 || n > 100'000 || unit == kUnits.end()) {
    throw Stop(Exit::usage,
               "--expires: \"" + text + "\" is not a time such as 30m, 12h, 90d or 2w");
  }
  return n * unit->second;
}

std::string token_status(const json::value& t, std::int64_t now) {
  if (int_of(t, "revokedAt")) return "revoked";
  if (auto expires = int_of(t, "expiresAt"); expires && *expires <= now) return "expired";
  return "active";
}

void add_tokens(CLI::App& app, int& exit_code) {
  auto* tokens = app.add_subcommand("tokens", "Create, list and revoke named API tokens");
  tokens->require_subcommand(1);
  {
    struct Args {
      Connection c;
      std::string name, role, expires;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = tokens->add_subcommand(
        "create", "Create a token and print it: it is shown this once and never again");
    cmd->add_option("--name", a->name, "Its name (letters, digits, '-', '_', '.')")->required();
    cmd->add_option("--role", a->role, "viewer, operator or admin")
        ->required()
        ->check(CLI::IsMember({"viewer", "operator", "admin"}));
    cmd->add_option("--expires", a->expires,
                    "How long it lasts: 30m, 12h, 90d, 2w (default: ever)");
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        json::object body{{"name", a->name}, {"role", a->role}};
        if (!a->expires.empty()) body["expiresAt"] = now_ms() + parse_lifetime(a->expires);
        auto answer = Client{a->c.options}.call("POST", "/api/scheduler/tokens", body);
        if (a->c.json()) return print_json(answer.data());
        const auto& d = answer.data();
        std::cerr << "token " << text_of(d, "name") << " (" << text_of(d, "role") << ")"
                  << (int_of(d, "expiresAt") ? ", expires " + when(d, "expiresAt") : "")
                  << ": it is not shown again, keep it now\n";
        std::cout << text_of(d, "token") << "\n";
      });
    });
  }
  {
    auto c = std::make_shared<Connection>();
    auto* cmd = tokens->add_subcommand("list", "Every token (never the tokens themselves)");
    add_connection(*cmd, *c);
    cmd->callback([c, &exit_code] {
      run(exit_code, [&] {
        auto answer = Client{c->options}.call("GET", "/api/scheduler/tokens");
        if (c->json()) return print_json(answer.data());
        const auto now = now_ms();
        client::Table table{
            {"NAME", "ROLE", "STATUS", "CREATED", "BY", "EXPIRES", "LAST USED", "ID"},
            {true, false, false, false, true, false, false, false}};
        for (const auto& t : answer.data().as_array()) {
          table.add({text_of(t, "name"), text_of(t, "role"), token_status(t, now),
                     when(t, "createdAt"), text_of(t, "createdBy"),
                     int_of(t, "expiresAt") ? when(t, "expiresAt") : "never",
                     int_of(t, "lastUsedAt") ? when(t, "lastUsedAt") : "-", text_of(t, "id")});
        }
        if (table.empty()) {
          std::cout << "no tokens\n";
        } else {
          table.print(std::cout, client::terminal_width());
        }
      });
    });
  }
  {
    struct Args {
      Connection c;
      std::string token;
    };
    auto a = std::make_shared<Args>();
    auto* cmd =
        tokens->add_subcommand("revoke", "Revoke a token: every server refuses it within a second");
    cmd->add_option("TOKEN", a->token, "The token's name or id")->required();
    add_connection(*cmd, a->c);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        const Client c{a->c.options};
        auto list = c.call("GET", "/api/scheduler/tokens");
        std::string id;
        for (const auto& t : list.data().as_array()) {
          if (text_of(t, "id") == a->token ||
              (text_of(t, "name") == a->token && !int_of(t, "revokedAt"))) {
            id = text_of(t, "id");
          }
        }
        if (id.empty()) {
          throw Stop(Exit::not_found,
                     "no token not yet revoked has the name or id \"" + a->token + "\"");
        }
        auto answer = c.call("DELETE", "/api/scheduler/tokens/" + client::escape(id));
        if (a->c.json()) return print_json(answer.data());
        std::cout << "revoked token " << text_of(answer.data(), "name") << " (" << id << ")\n";
      });
    });
  }
}

// ---- the audit trail ---------------------------------------------------------------------

struct AuditArgs {
  Connection c;
  std::string target, actor, action, since;
  int limit = 50;
};

void add_audit_filters(CLI::App& cmd, AuditArgs& a) {
  cmd.add_option("--target", a.target,
                 "Only entries about this task, channel or token (id or name)");
  cmd.add_option("--actor", a.actor, "Only entries of this token's name (bootstrap, cronkit...)");
  cmd.add_option("--action", a.action,
                 "Only this action (task.update) or kind of them (task, channel, token, auth)");
  cmd.add_option("--since", a.since, "Only entries of this time back: 30m, 12h, 90d, 2w");
  add_connection(cmd, a.c);
}

// The query of the filters, up to `to` (exclusive): pages read one after the other then
// hold still while new entries are recorded.
std::string audit_query(const AuditArgs& a, std::int64_t to) {
  std::string q = "to=" + std::to_string(to);
  if (!a.target.empty()) q += "&target=" + client::escape(a.target);
  if (!a.actor.empty()) q += "&actor=" + client::escape(a.actor);
  if (!a.action.empty()) q += "&action=" + client::escape(a.action);
  if (!a.since.empty()) q += "&from=" + std::to_string(to - parse_lifetime(a.since));
  return q;
}

// What an entry says beyond its columns: the fields an update changed, or its detail.
std::string audit_summary(const json::value& e) {
  const auto& o = e.as_object();
  if (const auto* changes = o.if_contains("changes"); changes && changes->is_object()) {
    std::string fields;
    for (const auto& [key, value] : changes->as_object())
      fields += (fields.empty() ? "" : ", ") + std::string(key);
    return "changed " + fields;
  }
  if (const auto* detail = o.if_contains("detail"); detail && detail->is_object()) {
    return json::serialize(*detail);
  }
  return "";
}

void add_audit(CLI::App& app, int& exit_code) {
  auto* audit = app.add_subcommand("audit", "Who changed what, when, from where (admins)");
  audit->require_subcommand(1);
  {
    auto a = std::make_shared<AuditArgs>();
    auto* cmd = audit->add_subcommand("list", "The newest entries of the audit trail");
    add_audit_filters(*cmd, *a);
    cmd->add_option("--limit", a->limit, "How many entries, at most")
        ->check(CLI::Range(1, 500))
        ->capture_default_str();
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        auto answer = Client{a->c.options}.call(
            "GET", "/api/scheduler/audit?pageSize=" + std::to_string(a->limit) + "&" +
                       audit_query(*a, now_ms() + 1));
        if (a->c.json()) return print_json(answer.data());
        client::Table table{{"AT", "ACTOR", "ADDRESS", "ACTION", "TARGET", "WHAT"},
                            {false, true, false, false, true, true}};
        for (const auto& e : answer.data().at("list").as_array()) {
          std::string target = text_of(e, "targetName");
          table.add({when(e, "at"), text_of(e, "actor").empty() ? "-" : text_of(e, "actor"),
                     text_of(e, "address"), text_of(e, "action"), target.empty() ? "-" : target,
                     audit_summary(e)});
        }
        if (table.empty()) {
          std::cout << "no entries\n";
        } else {
          table.print(std::cout, client::terminal_width());
        }
      });
    });
  }
  {
    auto a = std::make_shared<AuditArgs>();
    auto* cmd = audit->add_subcommand(
        "export", "Every entry, newest first, as JSON lines (one object a line) on stdout");
    add_audit_filters(*cmd, *a);
    cmd->callback([a, &exit_code] {
      run(exit_code, [&] {
        const Client c{a->c.options};
        const std::string query = audit_query(*a, now_ms() + 1);
        for (int page = 1;; ++page) {
          auto answer =
              c.call("GET", "/api/scheduler/audit?pageSize=500&page=" + std::to_string(page) + "&" +
                                query);
          const auto& list = answer.data().at("list").as_array();
          for (const auto& e : list)
            std::cout << json::serialize(e) << '\n';
          if (list.size() < 500) break;
        }
        std::cout.flush();
      });
    });
  }
}

void add_whoami(CLI::App& app, int& exit_code) {
  auto c = std::make_shared<Connection>();
  auto* cmd = app.add_subcommand("whoami", "Whose token this is, and its role");
  add_connection(*cmd, *c);
  cmd->callback([c, &exit_code] {
    run(exit_code, [&] {
      auto answer = Client{c->options}.call("GET", "/api/scheduler/me");
      if (c->json()) return print_json(answer.data());
      std::cout << text_of(answer.data(), "actor") << " (" << text_of(answer.data(), "role")
                << ")\n";
    });
  });
}

}  // namespace

void add_client_commands(CLI::App& app, int& exit_code) {
  add_apply(app, exit_code);
  add_export(app, exit_code);
  add_tasks(app, exit_code);
  add_executions(app, exit_code);
  add_stats(app, exit_code);
  add_tokens(app, exit_code);
  add_audit(app, exit_code);
  add_whoami(app, exit_code);
}

}  // namespace cronkit::app
