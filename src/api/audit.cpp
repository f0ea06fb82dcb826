// The audit trail: the entries handlers make, refusals recorded without flooding, and
// GET /api/scheduler/audit.
#include "api/audit.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/handler.h"
#include "api/json_codec.h"
#include "api/secrets.h"
#include "core/ids.h"

namespace cronkit::api {
namespace {

constexpr int kMaxAuditPage = 500;
// A refusal is recorded at most once per address and actor in this time; the next entry
// counts the ones left out.
constexpr Millis kRefusalInterval = 60'000;
// How many (address, actor) pairs are remembered for that; beyond it, the oldest go.
constexpr std::size_t kMaxRefusalKeys = 10'000;

json::object parsed(const std::string& text) {
  return json::parse(text).as_object();
}

// The fields whose raw values differ, each with its shown (hidden) old and new value.
std::optional<std::string> differences(const json::object& raw_before,
                                       const json::object& raw_after,
                                       const json::object& shown_before,
                                       const json::object& shown_after) {
  json::object out;
  auto add = [&](std::string_view key) {
    if (key == "updatedAt" || out.contains(key)) return;
    const json::value* a = raw_before.if_contains(key);
    const json::value* b = raw_after.if_contains(key);
    if (a && b && *a == *b) return;
    const json::value* old_shown = shown_before.if_contains(key);
    const json::value* new_shown = shown_after.if_contains(key);
    out[key] = json::object{{"old", old_shown ? *old_shown : json::value(nullptr)},
                            {"new", new_shown ? *new_shown : json::value(nullptr)}};
  };
  for (const auto& [key, value] : raw_before)
    add(key);
  for (const auto& [key, value] : raw_after)
    add(key);
  if (out.empty()) return std::nullopt;
  return json::serialize(out);
}

// A channel as the audit trail compares it: `hidden` replaces each secret by kHidden.
json::object channel_object(const Channel& c, bool hidden) {
  auto secret = [&](const std::optional<std::string>& v) -> json::value {
    if (!v) return nullptr;
    return hidden ? json::value(kHidden) : json::value(*v);
  };
  json::value headers = nullptr;
  if (c.headers) {
    boost::system::error_code ec;
    headers = json::parse(*c.headers, ec);
    if (ec || !headers.is_object()) {
      headers = hidden ? json::value(kHidden) : json::value(*c.headers);
    } else if (hidden) {
      for (auto& [name, value] : headers.as_object())
        value = kHidden;
    }
  }
  std::string url = c.url;
  if (hidden && c.type == ChannelType::slack) {
    // The path of a Slack webhook is its credential.
    const auto scheme = url.find("://");
    const auto path = scheme == std::string::npos ? scheme : url.find('/', scheme + 3);
    if (path != std::string::npos) url = url.substr(0, path) + "/" + std::string(kHidden);
  }
  json::array to;
  for (const auto& a : c.mail_to)
    to.emplace_back(a);
  return {{"name", c.name},
          {"type", to_string(c.type)},
          {"url", url},
          {"headers", std::move(headers)},
          {"secret", secret(c.secret)},
          {"from", c.mail_from},
          {"to", std::move(to)},
          {"username", c.username ? json::value(*c.username) : json::value(nullptr)},
          {"password", secret(c.password)},
          {"startTls", c.start_tls}};
}

}  // namespace

std::optional<std::string> task_changes(const Task& before, const Task& after) {
  return differences(parsed(to_json_text(before)), parsed(to_json_text(after)),
                     parsed(to_json_text(hide_secrets(before))),
                     parsed(to_json_text(hide_secrets(after))));
}

std::optional<std::string> channel_changes(const Channel& before, const Channel& after) {
  return differences(channel_object(before, false), channel_object(after, false),
                     channel_object(before, true), channel_object(after, true));
}

AuditEntry Api::audit_entry(const Call& c, std::string_view action, std::string_view target_id,
                            std::string_view target_name) const {
  const Millis now = clock_.now();
  AuditEntry e;
  e.id = new_id(now);
  e.at = now;
  e.actor = c.who.actor;
  e.address = c.address;
  e.action = std::string(action);
  e.target_id = std::string(target_id);
  e.target_name = std::string(target_name);
  return e;
}

engine::TaskService::Audit Api::task_audit(const Call& c, std::string_view action) const {
  return [this, &c, action](const Task* before, const Task* after) {
    const Task& t = after ? *after : *before;
    AuditEntry e = audit_entry(c, action, t.id, t.name);
    if (before && after) e.changes = task_changes(*before, *after);
    return e;
  };
}

void Api::record_refusal(std::string_view address, std::string_view actor, std::string_view action,
                         json::object detail) {
  const Millis now = clock_.now();
  std::int64_t unrecorded = 0;
  {
    std::lock_guard lock{refusals_mutex_};
    std::string key = std::string(action) + ' ' + std::string(address) + ' ' + std::string(actor);
    auto it = refusals_.find(key);
    if (it != refusals_.end() && now - it->second.last < kRefusalInterval) {
      ++it->second.unrecorded;
      return;
    }
    if (it == refusals_.end()) {
      if (refusals_.size() >= kMaxRefusalKeys) {
        std::erase_if(refusals_,
                      [&](const auto& r) { return now - r.second.last >= kRefusalInterval; });
        if (refusals_.size() >= kMaxRefusalKeys) refusals_.clear();
      }
      it = refusals_.emplace(std::move(key), Refusals{}).first;
    }
    unrecorded = it->second.unrecorded;
    it->second = {now, 0};
  }
  AuditEntry e;
  e.id = new_id(now);
  e.at = now;
  e.actor = std::string(actor);
  e.address = std::string(address);
  e.action = std::string(action);
  if (unrecorded > 0) detail["unrecorded"] = unrecorded;
  e.detail = json::serialize(detail);
  try {
    store_.record(e);
  } catch (const StoreError&) {
    // The refusal is still answered; with the database away, it goes unrecorded.
  }
}

Response Api::list_audit(Call& c) {
  AuditFilter filter;
  filter.page = c.integer("page", 1, 1, 1000000);
  filter.page_size = c.integer("pageSize", 50, 1, kMaxAuditPage);
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    auto v = c.get(name);
    if (!v || v->empty()) return std::nullopt;
    if (v->size() > 200) bad_parameter(std::string(name), "must be at most 200 characters");
    return std::string(*v);
  };
  filter.target = text("target");
  filter.actor = text("actor");
  filter.action = text("action");
  if (filter.action) {
    bool known = false;
    for (std::string_view a : kAuditActions) {
      known = known || a == *filter.action ||
              (a.starts_with(*filter.action) && a[filter.action->size()] == '.');
    }
    if (!known) {
      bad_parameter("action",
                    "must be an action (task.update, token.revoke, auth.failed...) or a kind of "
                    "them (task, channel, token, auth)");
    }
  }
  auto instant = [&](std::string_view name) -> std::optional<Millis> {
    auto v = c.get(name);
    if (!v) return std::nullopt;
    Millis n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size() || n < 0 || n > kMaxEpochMs) {
      bad_parameter(std::string(name), "must be a whole number of milliseconds since 1970");
    }
    return n;
  };
  filter.from = instant("from");
  filter.to = instant("to");
  auto page = store_.list_audit(filter);
  Answer a;
  auto& w = a.data();
  w.begin_object().key("list").begin_array();
  for (const AuditEntry& e : page.list) {
    w.begin_object();
    w.key("id").value(e.id);
    w.key("at").value(e.at);
    w.key("actor").value(e.actor);
    w.key("address").value(e.address);
    w.key("action").value(e.action);
    w.key("targetId").value(e.target_id);
    w.key("targetName").value(e.target_name);
    w.key("changes");
    e.changes ? w.raw(*e.changes) : w.null();
    w.key("detail");
    e.detail ? w.raw(*e.detail) : w.null();
    w.end_object();
  }
  w.end_array();
  w.key("total").value(page.total);
  w.key("page").value(page.page);
  w.key("pageSize").value(page.page_size);
  w.end_object();
  return std::move(a).done();
}

}  // namespace cronkit::api
