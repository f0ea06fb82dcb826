// /api/scheduler/tokens and /me: named API tokens, each with a role, and who is asking.
// A token is shown once, in the answer that creates it; the store keeps only its SHA-256.
#include <array>

#include "api/access.h"
#include "api/api.h"
#include "api/handler.h"
#include "core/ids.h"

namespace cronkit::api {
namespace {

constexpr std::array<std::string_view, 3> kTokenFields = {"name", "role", "expiresAt"};

void write_token(JsonWriter& w, const ApiToken& t) {
  w.key("id").value(t.id);
  w.key("name").value(t.name);
  w.key("role").value(to_string(t.role));
  w.key("createdAt").value(t.created_at);
  w.key("createdBy").value(t.created_by);
  w.key("expiresAt").value(t.expires_at);
  w.key("lastUsedAt").value(t.last_used_at);
  w.key("revokedAt").value(t.revoked_at);
}

Response token_answer(const ApiToken& t, const std::string* secret = nullptr,
                      http::status status = http::status::ok) {
  Answer a;
  a.data().begin_object();
  write_token(a.data(), t);
  if (secret) a.data().key("token").value(*secret);
  a.data().end_object();
  return std::move(a).done(status);
}

}  // namespace

Response Api::list_tokens(Call&) {
  Answer a;
  a.data().begin_array();
  for (const auto& t : store_.list_tokens()) {
    a.data().begin_object();
    write_token(a.data(), t);
    a.data().end_object();
  }
  a.data().end_array();
  return std::move(a).done();
}

Response Api::create_token(Call& c) {
  const json::value body = c.body();
  const auto* o = body.if_object();
  if (!o) invalid({{"body", "must be a JSON object"}});
  const Millis now = clock_.now();
  FieldErrors errors;
  for (const auto& [key, value] : *o) {
    if (std::ranges::find(kTokenFields, std::string_view{key}) == kTokenFields.end()) {
      errors.push_back(
          {std::string(key), "is not a field of a token (fields: name, role, expiresAt)"});
    }
  }
  ApiToken t;
  const auto* name = o->if_contains("name");
  if (!name) {
    errors.push_back({"name", "is required"});
  } else if (const auto* s = name->if_string(); !s || !valid_token_name(std::string_view{*s})) {
    errors.push_back({"name", std::string(kTokenNameRule)});
  } else {
    t.name = std::string(*s);
  }
  const auto* role = o->if_contains("role");
  const auto* role_text = role ? role->if_string() : nullptr;
  if (auto r = role_text ? parse_role(std::string_view{*role_text}) : std::nullopt) {
    t.role = *r;
  } else {
    errors.push_back({"role", role ? "must be \"viewer\", \"operator\" or \"admin\""
                                   : "is required (\"viewer\", \"operator\" or \"admin\")"});
  }
  if (const auto* expires = o->if_contains("expiresAt"); expires && !expires->is_null()) {
    if (!expires->is_int64() || expires->as_int64() <= now) {
      errors.push_back(
          {"expiresAt", "must be a time in the future, in epoch milliseconds, or null"});
    } else {
      t.expires_at = expires->as_int64();
    }
  }
  if (!errors.empty()) invalid(std::move(errors));
  if (!auth_->required()) {
    throw Failure{http::status::conflict,
                  "this server takes requests without a token: start it with --api-token (the "
                  "bootstrap admin token) to use named tokens"};
  }
  const std::string secret = new_token();
  t.id = new_id(now);
  t.hash = token_hash(secret);
  t.created_at = now;
  t.created_by = c.who.actor;
  AuditEntry audit = audit_entry(c, "token.create", t.id, t.name);
  json::object detail{{"role", to_string(t.role)}};
  if (t.expires_at) detail["expiresAt"] = *t.expires_at;
  audit.detail = json::serialize(detail);
  if (!store_.insert_token(t, &audit)) {
    throw Failure{
        http::status::conflict,
        "a token named \"" + t.name + "\" exists: revoke it first, or choose another name",
        json::array{json::object{{"field", "name"}, {"message", "is taken"}}}};
  }
  return token_answer(t, &secret, http::status::created);
}

Response Api::revoke_token(Call& c) {
  auto current = store_.get_token(c.id());
  if (!current) throw Failure{http::status::not_found, "no token with id " + c.id()};
  // Recorded only if this revokes it: revoking a revoked token changes nothing.
  AuditEntry audit = audit_entry(c, "token.revoke", current->id, current->name);
  audit.detail = json::serialize(json::object{{"role", to_string(current->role)}});
  auto t = store_.revoke_token(c.id(), clock_.now(), &audit);
  if (!t) throw Failure{http::status::not_found, "no token with id " + c.id()};
  auth_->forget();
  return token_answer(*t);
}

Response Api::whoami(Call& c) {
  Answer a;
  a.data().begin_object();
  a.data().key("actor").value(c.who.actor);
  a.data().key("role").value(to_string(c.who.role));
  a.data().key("authRequired").value(auth_->required());
  a.data().end_object();
  return std::move(a).done();
}

}  // namespace cronkit::api
