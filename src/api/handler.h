#pragma once
// What the API's handlers share (src/api only): error answers, the envelope, and what a
// handler knows of its request.

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api.h"
#include "api/json_body.h"
#include "api/json_codec.h"
#include "api/json_writer.h"
#include "api/task_spec.h"

namespace cronkit::api {

namespace json = boost::json;
namespace http = boost::beast::http;

// Ends a handler early with an error answer.
struct Failure {
  http::status status;
  std::string message;
  json::value data = nullptr;
};

inline Response respond(http::status status, std::string body) {
  Response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

inline Response answer(http::status status, const json::object& envelope) {
  return respond(status, json::serialize(envelope));
}

inline Response ok(json::value data, http::status status = http::status::ok) {
  return answer(status, {{"code", 0}, {"message", "ok"}, {"data", std::move(data)}});
}

// A successful answer written as text, for records:
//   Answer a;  a.data().begin_object()...end_object();  return std::move(a).done();
class Answer {
 public:
  Answer() {
    body_.reserve(4096);
    w_.begin_object().key("code").value(0).key("message").value("ok").key("data");
  }
  JsonWriter& data() { return w_; }
  std::string text() && {
    w_.end_object();
    return std::move(body_);
  }
  Response done(http::status status = http::status::ok) && {
    return respond(status, std::move(*this).text());
  }

 private:
  std::string body_;
  JsonWriter w_{body_};
};

// A record as the whole data of an answer.
template <typename Record>
Response ok_record(const Record& r, http::status status = http::status::ok) {
  Answer a;
  a.data().begin_object();
  write_fields(a.data(), r);
  a.data().end_object();
  return std::move(a).done(status);
}

inline Response error(const Failure& f) {
  return answer(f.status,
                {{"code", static_cast<int>(f.status)}, {"message", f.message}, {"data", f.data}});
}

inline json::array to_json(const FieldErrors& errors) {
  json::array out;
  for (const auto& e : errors)
    out.push_back(json::object{{"field", e.field}, {"message", e.message}});
  return out;
}

[[noreturn]] inline void invalid(FieldErrors errors) {
  throw Failure{http::status::unprocessable_entity, "validation failed", to_json(errors)};
}

[[noreturn]] inline void bad_parameter(std::string name, std::string message) {
  throw Failure{http::status::bad_request, "invalid query parameter " + name,
                to_json(FieldErrors{{std::move(name), std::move(message)}})};
}

// Refuses a query parameter the route does not take: a typo would otherwise be ignored.
// (Call::get refuses one given twice.)
inline void check_query(const std::vector<std::pair<std::string, std::string>>& query,
                        const Route& route) {
  for (const auto& [key, value] : query) {
    if (std::find(route.query.begin(), route.query.end(), key) != route.query.end()) continue;
    std::string known;
    for (const auto& k : route.query)
      known += (known.empty() ? "" : ", ") + k;
    bad_parameter(key, known.empty() ? "is not taken here (this route takes no query parameters)"
                                     : "is not taken here (this route takes " + known + ")");
  }
}

// The `tag` parameters of a query, each a valid tag, repeats dropped, at most kMaxTags.
inline std::vector<std::string> tag_parameters(
    const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::string> tags;
  for (const auto& [key, value] : query) {
    if (key != "tag") continue;
    if (!valid_tag(value)) bad_parameter("tag", std::string(kTagRule));
    if (std::find(tags.begin(), tags.end(), value) != tags.end()) continue;
    if (tags.size() == kMaxTags) {
      bad_parameter("tag", "is given more than " + std::to_string(kMaxTags) + " times");
    }
    tags.push_back(value);
  }
  return tags;
}

// What a handler knows of its request.
struct ApiCall {
  const Request& req;
  std::vector<std::string> params;  // the :segments of the route, in order
  std::vector<std::pair<std::string, std::string>> query;
  Principal who;        // who sent it (for an open route: nobody, an empty actor)
  std::string address;  // the peer's IP address

  const std::string& id() const { return params.at(0); }

  std::optional<std::string_view> get(std::string_view name) const {
    std::optional<std::string_view> found;
    for (const auto& [k, v] : query) {
      if (k != name) continue;
      if (found) bad_parameter(std::string(name), "is given more than once");
      found = v;
    }
    return found;
  }

  int integer(std::string_view name, int fallback, int min, int max) const {
    auto v = get(name);
    if (!v) return fallback;
    int n = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size()) {
      bad_parameter(std::string(name), "must be a whole number");
    }
    if (n < min || n > max) {
      bad_parameter(std::string(name),
                    "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return n;
  }

  // The body as JSON; `required` false lets an empty body through as null.
  json::value body(bool required = true) const {
    if (req.body().empty()) {
      if (!required) return nullptr;
      throw Failure{http::status::bad_request, "a JSON body is required"};
    }
    auto type = req[http::field::content_type];
    auto media = type.substr(0, type.find(';'));
    while (!media.empty() && media.back() == ' ')
      media.remove_suffix(1);
    if (!boost::beast::iequals(media, "application/json")) {
      throw Failure{http::status::unsupported_media_type, "Content-Type must be application/json"};
    }
    auto v = parse_json_body(req.body());
    if (!v) throw Failure{http::status::bad_request, std::move(v.error())};
    return std::move(*v);
  }
};

}  // namespace cronkit::api
