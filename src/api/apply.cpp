// POST /api/scheduler/apply and GET /api/scheduler/export: tasks as code. An apply names
// the tasks it wants (each by its name, with the fields of a create request); the server
// plans what to create, update, leave and (with prune, among the selector's tasks) delete,
// and writes the whole plan in one transaction. An export writes the tasks in the form an
// apply takes, so that applying it changes nothing.
#include <algorithm>
#include <map>
#include <set>

#include "api/api.h"
#include "api/audit.h"
#include "api/handler.h"
#include "api/secrets.h"
#include "api/task_doc.h"
#include "core/ids.h"

namespace cronkit::api {
namespace {

constexpr std::size_t kMaxApplied = 10000;  // tasks in one apply
constexpr std::string_view kApplyFields[] = {"tasks", "prune", "selector", "dryRun"};

// An apply refused as a whole: 409, with the names that match several tasks.
struct Ambiguous {
  json::array names;  // [{name, ids}]
};

// 422 answers of an apply name the spec (tasks[6].cronExpression) and give its index.
struct SpecError {
  std::size_t index;
  FieldError error;
};

[[noreturn]] void refuse(const std::vector<SpecError>& errors) {
  json::array out;
  for (const auto& [index, e] : errors) {
    out.push_back(json::object{{"index", index},
                               {"field", "tasks[" + std::to_string(index) + "]." + e.field},
                               {"message", e.message}});
  }
  throw Failure{http::status::unprocessable_entity, "validation failed", std::move(out)};
}

// The tags of a selector: an array of distinct tags.
std::vector<std::string> read_selector(const json::value* v, FieldErrors& errors) {
  std::vector<std::string> tags;
  if (!v || v->is_null()) return tags;
  const auto* a = v->if_array();
  if (!a || a->size() > kMaxTags) {
    errors.push_back(
        {"selector", "must be an array of up to " + std::to_string(kMaxTags) + " tags"});
    return tags;
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto* s = (*a)[i].if_string();
    if (!s || !valid_tag(*s)) {
      errors.push_back({"selector[" + std::to_string(i) + "]", std::string(kTagRule)});
    } else if (std::ranges::find(tags, std::string_view{*s}) == tags.end()) {
      tags.emplace_back(*s);
    }
  }
  return tags;
}

bool read_flag(const json::object& o, std::string_view name, FieldErrors& errors) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return false;
  if (!v->is_bool()) errors.push_back({std::string(name), "must be true or false"});
  return v->is_bool() && v->get_bool();
}

// The apply's view of a task's fields that differ: [{field, from, to}].
json::array differences(const Task& from, const Task& to) {
  const json::object a = task_document(from);
  const json::object b = task_document(to);
  json::array out;
  for (const auto& [key, value] : b) {
    const json::value& was = a.at(key);
    if (was != value) out.push_back(json::object{{"field", key}, {"from", was}, {"to", value}});
  }
  return out;
}

}  // namespace

Response Api::apply_tasks(Call& c) {
  json::value body = c.body();
  auto* o = body.if_object();
  if (!o) invalid({{"body", "must be a JSON object: {tasks, prune, selector, dryRun}"}});
  FieldErrors errors;
  for (const auto& [key, value] : *o) {
    if (std::ranges::find(kApplyFields, std::string_view{key}) == std::end(kApplyFields)) {
      errors.push_back({std::string(key), "is not a field of an apply"});
    }
  }
  const bool prune = read_flag(*o, "prune", errors);
  const bool dry_run = read_flag(*o, "dryRun", errors);
  const std::vector<std::string> selector = read_selector(o->if_contains("selector"), errors);
  const bool selector_refused = std::ranges::any_of(
      errors, [](const FieldError& e) { return e.field.starts_with("selector"); });
  if (prune && selector.empty() && !selector_refused) {
    errors.push_back({"selector",
                      "is required with prune: the tags of the tasks that this "
                      "apply owns (only those may be deleted)"});
  }
  auto* list = o->if_contains("tasks");
  json::array* specs = list ? list->if_array() : nullptr;
  if (!specs) {
    errors.push_back({"tasks", "is required: an array of tasks, each named (it may be empty)"});
  } else if (specs->size() > kMaxApplied) {
    errors.push_back(
        {"tasks", "must have at most " + std::to_string(kMaxApplied) + " tasks in one apply"});
  }
  if (!errors.empty()) invalid(std::move(errors));

  // Rules in a file name their channel (channel: "ops-slack"): ids differ between servers.
  std::map<std::string, std::vector<std::string>, std::less<>> channel_ids;  // by name
  for (const Channel& ch : store_.list_channels())
    channel_ids[ch.name].push_back(ch.id);

  std::vector<SpecError> refused;
  std::vector<Task> wanted;
  std::vector<std::string> names;
  std::map<std::string, std::size_t, std::less<>> index_of;  // name -> first spec
  const TaskRules rules = task_rules();
  for (std::size_t i = 0; i < specs->size(); ++i) {
    json::value& spec = (*specs)[i];
    const std::size_t before = refused.size();
    auto fail = [&](std::string field, std::string message) {
      refused.push_back({i, {std::move(field), std::move(message)}});
    };
    if (auto* so = spec.if_object()) {
      auto* rules_given = so->if_contains("notifications");
      auto* rule_list = rules_given ? rules_given->if_array() : nullptr;
      for (std::size_t r = 0; rule_list && r < rule_list->size(); ++r) {
        auto* rule = (*rule_list)[r].if_object();
        auto* channel = rule ? rule->if_contains("channel") : nullptr;
        if (!channel) continue;
        const std::string at = "notifications[" + std::to_string(r) + "].channel";
        auto* name = channel->if_string();
        auto found = name ? channel_ids.find(std::string_view{*name}) : channel_ids.end();
        if (!name) {
          fail(at, "must be a channel's name");
        } else if (rule->contains("channelId")) {
          fail(at, "cannot be given with channelId: name the channel one way");
        } else if (found == channel_ids.end()) {
          fail(at, "names no notification channel: \"" + std::string(*name) + "\"");
        } else if (found->second.size() > 1) {
          fail(at, "names " + std::to_string(found->second.size()) +
                       " channels: give the one meant by channelId");
        } else {
          rule->erase("channel");
          rule->emplace("channelId", found->second.front());
        }
      }
    }
    if (refused.size() > before) continue;
    auto task = task_from_create(spec, registry_, rules);
    if (!task) {
      for (auto& e : task.error())
        refused.push_back({i, std::move(e)});
      continue;
    }
    if (auto [it, fresh] = index_of.emplace(task->name, i); !fresh) {
      fail("name", "repeats the name of tasks[" + std::to_string(it->second) +
                       "]: names identify the tasks of an apply");
      continue;
    }
    if (!has_tags(task->tags, selector)) {
      std::string all;
      for (const auto& tag : selector)
        all += (all.empty() ? "" : ", ") + tag;
      fail("tags", "must include the selector's tags (" + all + "): the apply owns those tasks");
      continue;
    }
    names.push_back(task->name);
    wanted.push_back(std::move(*task));
  }
  if (!refused.empty()) refuse(refused);

  json::array created, updated, unchanged, deleted;
  auto entry = [](const Task& t, bool with_id = true) {
    return json::object{{"name", t.name}, {"id", with_id ? json::value(t.id) : nullptr}};
  };
  try {
    tasks_.change_many(
        names, prune ? selector : std::vector<std::string>{}, [&](std::vector<Task> current) {
          created.clear(), updated.clear(), unchanged.clear(), deleted.clear();
          std::map<std::string, std::vector<const Task*>, std::less<>> by_name;
          for (const Task& t : current)
            by_name[t.name].push_back(&t);
          Ambiguous ambiguous;
          for (const std::string& name : names) {
            auto it = by_name.find(name);
            if (it == by_name.end() || it->second.size() < 2) continue;
            json::array ids;
            for (const Task* t : it->second)
              ids.emplace_back(t->id);
            ambiguous.names.push_back(json::object{{"name", name}, {"ids", std::move(ids)}});
          }
          if (!ambiguous.names.empty()) throw ambiguous;
          const Millis now = clock_.now();
          TaskChanges changes;
          // One entry in the audit trail for each task the apply changes.
          auto audit = [&](const Task& t, std::string_view change) -> AuditEntry& {
            AuditEntry& e = changes.audit.emplace_back(audit_entry(c, "task.apply", t.id, t.name));
            e.detail = json::serialize(json::object{{"change", change}});
            return e;
          };
          std::vector<SpecError> limits;  // what only the stored tasks show to be wrong
          for (std::size_t i = 0; i < wanted.size(); ++i) {
            Task want = wanted[i];
            auto it = by_name.find(want.name);
            // A file exported by a reader carries <hidden> for each secret: the stored value.
            for (auto& e : restore_hidden(want, it == by_name.end() ? nullptr : it->second.front()))
              limits.push_back({i, std::move(e)});
            if (it == by_name.end()) {
              want.id = new_id(now);
              want.created_at = want.updated_at = now;
              if (!want.enabled) want.paused_at = now;
              created.push_back(entry(want, !dry_run));
              audit(want, "create");
              changes.inserts.push_back(std::move(want));
              continue;
            }
            const Task& have = *it->second.front();
            json::array diff = differences(have, want);
            if (diff.empty()) {
              unchanged.push_back(entry(have));
              continue;
            }
            want.id = have.id;
            want.created_at = have.created_at;
            want.updated_at = now;
            want.run_count = have.run_count;
            if (want.enabled == have.enabled) {
              want.paused_note = have.paused_note;
              want.paused_at = have.paused_at;
            } else if (!want.enabled) {
              want.paused_at = now;
            }
            if (want.enabled && want.max_runs && have.run_count >= *want.max_runs) {
              limits.push_back({i,
                                {"maxRuns", "the task made " + std::to_string(have.run_count) +
                                                " runs already: raise maxRuns above that, "
                                                "clear it, or pause the task"}});
            }
            json::object u = entry(want);
            u["changes"] = std::move(diff);
            updated.push_back(std::move(u));
            audit(want, "update").changes = task_changes(have, want);
            changes.updates.push_back(std::move(want));
          }
          if (!limits.empty()) refuse(limits);
          if (prune) {
            for (const Task& t : current) {
              if (index_of.contains(t.name) || !has_tags(t.tags, selector)) continue;
              deleted.push_back(entry(t));
              audit(t, "delete");
              changes.deletes.push_back(t.id);
            }
          }
          return dry_run ? TaskChanges{} : changes;
        });
  } catch (Ambiguous& a) {
    throw Failure{http::status::conflict,
                  "names that match several tasks: an apply changes a task by its name, so "
                  "rename or delete the others first",
                  std::move(a.names)};
  }
  return ok(json::object{{"dryRun", dry_run},
                         {"created", std::move(created)},
                         {"updated", std::move(updated)},
                         {"unchanged", std::move(unchanged)},
                         {"deleted", std::move(deleted)}});
}

Response Api::export_tasks(Call& c) {
  TaskFilter filter;
  filter.tags = tag_parameters(c.query);
  std::vector<Task> tasks;
  filter.page_size = 500;
  for (filter.page = 1;; ++filter.page) {
    auto page = store_.list_tasks(filter);
    for (auto& listed : page.list)
      tasks.push_back(std::move(listed.task));
    if (page.list.size() < static_cast<std::size_t>(filter.page_size)) break;
  }
  std::ranges::sort(tasks, [](const Task& a, const Task& b) {
    return std::tie(a.name, a.created_at, a.id) < std::tie(b.name, b.created_at, b.id);
  });
  tasks.erase(std::ranges::unique(tasks, {}, &Task::id).begin(), tasks.end());
  std::map<std::string, std::string, std::less<>> channel_name;  // by id; unique names only
  std::map<std::string, int, std::less<>> uses;
  const auto channels = store_.list_channels();
  for (const Channel& ch : channels)
    ++uses[ch.name];
  for (const Channel& ch : channels) {
    if (uses[ch.name] == 1) channel_name[ch.id] = ch.name;
  }
  json::array out;
  const bool hidden = !sees_secrets(c.who.role);
  for (const Task& t : tasks) {
    out.push_back(exported_document(
        hidden ? hide_secrets(t) : t, [&](const std::string& id) -> std::optional<std::string> {
          auto it = channel_name.find(id);
          return it == channel_name.end() ? std::nullopt : std::optional<std::string>{it->second};
        }));
  }
  return ok(json::object{{"tasks", std::move(out)}});
}

}  // namespace cronkit::api
