#include "client/client.h"

#include <curl/curl.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <memory>
#include <mutex>

namespace cronkit::client {
namespace {

namespace json = boost::json;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Headers = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

// A handle for one request to `url`, with the token and JSON headers.
struct Request {
  Easy easy{curl_easy_init(), curl_easy_cleanup};
  Headers headers{nullptr, curl_slist_free_all};
  std::string url;
  std::string authorization;  // kept alive while the handle is
  std::string payload;

  Request(const Options& options, std::string_view method, const std::string& path,
          const std::optional<json::value>& body) {
    global_init();
    if (!easy) throw Stop(Exit::failed, "cannot start an HTTP request (out of memory)");
    std::string base = options.server;
    while (!base.empty() && base.back() == '/')
      base.pop_back();
    url = base + path;
    CURL* e = easy.get();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(options.timeout_ms, 10000L));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "cronkit-cli");
    auto add = [&](const std::string& h) {
      headers.reset(curl_slist_append(headers.release(), h.c_str()));
    };
    add("Accept: application/json");
    if (!options.token.empty()) add("Authorization: Bearer " + options.token);
    if (body) {
      payload = json::serialize(*body);
      add("Content-Type: application/json");
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  }

  [[noreturn]] void unreachable(CURLcode code, const char* detail) const {
    throw Stop(Exit::unreachable, "cannot reach the server at " + url + ": " +
                                      (*detail ? std::string(detail) : curl_easy_strerror(code)) +
                                      " (is it running? --server or CRONKIT_SERVER says where)");
  }
};

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

const json::value& Answer::data() const {
  static const json::value none;
  const auto* o = body.if_object();
  const auto* d = o ? o->if_contains("data") : nullptr;
  return d ? *d : none;
}

Client::Client(Options options) : options_(std::move(options)) {}

Answer Client::call_raw(std::string_view method, const std::string& path,
                        const std::optional<json::value>& body) const {
  Request r{options_, method, path, body};
  std::string text;
  char detail[CURL_ERROR_SIZE] = "";
  CURL* e = r.easy.get();
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &text);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
  if (CURLcode code = curl_easy_perform(e); code != CURLE_OK) r.unreachable(code, detail);
  Answer answer;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &answer.status);
  boost::system::error_code ec;
  answer.body = json::parse(text, ec);
  if (ec || !answer.body.is_object()) {
    throw Stop(Exit::failed,
               "the server at " + r.url + " answered " + std::to_string(answer.status) +
                   " with something that is not cronkit's API: " + text.substr(0, 200));
  }
  return answer;
}

Answer Client::call(std::string_view method, const std::string& path,
                    const std::optional<json::value>& body) const {
  Answer answer = call_raw(method, path, body);
  if (answer.status >= 400) stop_for(answer);
  return answer;
}

void stop_for(const Answer& answer) {
  const auto* o = answer.body.if_object();
  const auto* m = o ? o->if_contains("message") : nullptr;
  std::string message =
      m && m->is_string() ? std::string(m->get_string()) : "error " + std::to_string(answer.status);
  if (const auto* fields = answer.data().if_array()) {
    for (const auto& f : *fields) {
      const auto* fo = f.if_object();
      const auto* field = fo ? fo->if_contains("field") : nullptr;
      const auto* why = fo ? fo->if_contains("message") : nullptr;
      if (field && why && field->is_string() && why->is_string()) {
        message +=
            "\n  " + std::string(field->get_string()) + ": " + std::string(why->get_string());
      }
    }
  }
  switch (answer.status) {
    case 401:
      throw Stop(Exit::unauthorized,
                 message + " (give the server's token with --token or CRONKIT_API_TOKEN)");
    case 403:
      throw Stop(Exit::forbidden, message);
    case 404:
      throw Stop(Exit::not_found, message);
    case 409:
      throw Stop(Exit::conflict, message);
    case 400:
    case 413:
    case 415:
    case 422:
      throw Stop(Exit::refused, message);
    default:
      throw Stop(Exit::failed,
                 "the server answered " + std::to_string(answer.status) + ": " + message);
  }
}

void Client::follow(const std::string& path,
                    const std::function<bool(std::string_view, std::string_view)>& on_event) const {
  Request r{options_, "GET", path, std::nullopt};
  struct Stream {
    const std::function<bool(std::string_view, std::string_view)>* on_event;
    std::string buffer;
    std::string error;  // the body of an error answer
    long status = 0;
    CURL* easy = nullptr;
    bool stopped = false;
  } stream{&on_event, {}, {}, 0, r.easy.get()};
  auto write = +[](char* data, size_t size, size_t n, void* p) -> size_t {
    auto& s = *static_cast<Stream*>(p);
    if (s.status == 0) curl_easy_getinfo(s.easy, CURLINFO_RESPONSE_CODE, &s.status);
    if (s.status != 200) {
      s.error.append(data, size * n);
      return size * n;
    }
    s.buffer.append(data, size * n);
    for (std::size_t end; (end = s.buffer.find("\n\n")) != std::string::npos;) {
      const std::string block = s.buffer.substr(0, end);
      s.buffer.erase(0, end + 2);
      std::string_view event, payload;
      std::size_t at = 0;
      while (at < block.size()) {
        std::size_t eol = block.find('\n', at);
        if (eol == std::string::npos) eol = block.size();
        std::string_view line{block.data() + at, eol - at};
        if (line.starts_with("event: ")) event = line.substr(7);
        if (line.starts_with("data: ")) payload = line.substr(6);
        at = eol + 1;
      }
      if (!event.empty() && !(*s.on_event)(event, payload)) {
        s.stopped = true;
        return 0;  // ends the transfer
      }
    }
    return size * n;
  };
  char detail[CURL_ERROR_SIZE] = "";
  CURL* e = r.easy.get();
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &stream);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, detail);
  const CURLcode code = curl_easy_perform(e);
  if (stream.stopped) return;
  if (code != CURLE_OK) r.unreachable(code, detail);
  if (stream.status != 200) {
    Answer answer;
    answer.status = stream.status;
    boost::system::error_code ec;
    answer.body = json::parse(stream.error, ec);
    if (ec) answer.body = json::object{};
    stop_for(answer);
  }
}

std::string escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace cronkit::client
