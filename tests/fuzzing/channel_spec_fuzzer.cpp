// Feeds arbitrary JSON to the channel validator, as a create request and as an update of
// existing channels, and checks what an accepted channel promises: a name within its limits,
// a URL of its type's schemes, the fields of its type only, headers that are a JSON object
// of single-line strings not naming what cronkit sets, a secret of 16 to 1,024 bytes, plain
// addresses that cannot end a line or add a recipient; and that an empty update changes
// nothing.
#include <curl/curl.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "api/channel_spec.h"
#include "core/text.h"

namespace {

using namespace cronkit;
namespace json = boost::json;

// Stops the fuzzer with the promise that failed.
#define CHECK(promise)                                                           \
  do {                                                                           \
    if (!(promise)) {                                                            \
      std::fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #promise); \
      std::abort();                                                              \
    }                                                                            \
  } while (false)

// The scheme libcurl sees, if it takes the URL and finds a host.
std::string scheme_of(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u{curl_url(), curl_url_cleanup};
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return "";
  }
  char* scheme = nullptr;
  char* host = nullptr;
  curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u.get(), CURLUPART_HOST, &host, 0);
  std::string s = scheme && host && *host ? scheme : "";
  curl_free(scheme);
  curl_free(host);
  return s;
}

bool single_line(std::string_view s) {
  return std::ranges::none_of(s, [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool plain_address(std::string_view a) {
  return !a.empty() && a.size() <= 254 && a.find('@') != std::string_view::npos &&
         std::ranges::none_of(a, [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u <= 0x20 || u >= 0x7f || c == '<' || c == '>' || c == ',' || c == ';';
         });
}

void check_channel(const Channel& c) {
  CHECK(c.name.find_first_not_of(" \t\r\n") != std::string::npos);
  CHECK(valid_utf8(c.name) && utf8_length(c.name) <= 200 && single_line(c.name));
  CHECK(c.url.size() <= 8192 && single_line(c.url));
  const std::string scheme = scheme_of(c.url);
  if (c.type == ChannelType::email) {
    CHECK(scheme == "smtp" || scheme == "smtps");
    CHECK(plain_address(c.mail_from));
    CHECK(!c.mail_to.empty() && c.mail_to.size() <= 20);
    for (const auto& a : c.mail_to)
      CHECK(plain_address(a));
    CHECK(!c.password || c.username);
    for (const auto* login : {&c.username, &c.password})
      CHECK(!*login || (!(*login)->empty() && single_line(**login)));
    CHECK(!(c.start_tls && scheme == "smtps"));
  } else {
    CHECK(scheme == "http" || scheme == "https");
    CHECK(c.mail_from.empty() && c.mail_to.empty() && !c.username && !c.password && !c.start_tls);
  }
  if (c.type != ChannelType::webhook) CHECK(!c.headers && !c.secret);
  if (c.secret) CHECK(c.secret->size() >= 16 && c.secret->size() <= 1024);
  if (c.headers) {
    json::error_code ec;
    json::value headers = json::parse(*c.headers, ec);
    CHECK(!ec && headers.is_object());
    for (const auto& [name, value] : headers.as_object()) {
      CHECK(!name.empty() && single_line(name) && name.find(':') == json::string::npos);
      CHECK(!iequals(name, "X-Cronkit-Signature") && !iequals(name, "X-Cronkit-Delivery"));
      CHECK(value.is_string() && single_line(value.as_string()));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (1u << 16)) return 0;
  json::parse_options options;
  options.max_depth = 32;  // as the API parses request bodies
  json::error_code ec;
  json::value body = json::parse({reinterpret_cast<const char*>(data), size}, ec, {}, options);
  if (ec) return 0;

  auto created = api::channel_from_create(body);
  if (created) {
    check_channel(*created);
    auto same = api::channel_from_update(json::object{}, *created);
    CHECK(same && *same == *created);
  } else {
    CHECK(!created.error().empty());
    for (const auto& e : created.error())
      CHECK(!e.message.empty() &&
            (!e.field.empty() || (body.is_object() && body.as_object().contains(""))));
  }

  static const Channel hook{.id = "h",
                            .name = "hook",
                            .type = ChannelType::webhook,
                            .url = "https://127.0.0.1/hook",
                            .headers = R"({"A":"b"})",
                            .secret = "0123456789abcdef"};
  static const Channel mail{.id = "m",
                            .name = "mail",
                            .type = ChannelType::email,
                            .url = "smtp://127.0.0.1:25",
                            .mail_from = "a@b",
                            .mail_to = {"c@d"},
                            .username = "u",
                            .password = "p"};
  for (const Channel* current : {&hook, &mail}) {
    auto updated = api::channel_from_update(body, *current);
    if (updated) {
      check_channel(*updated);
      CHECK(updated->id == current->id && updated->type == current->type);
    } else {
      CHECK(!updated.error().empty());
    }
  }
  return 0;
}
