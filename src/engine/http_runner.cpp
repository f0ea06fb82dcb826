#include "engine/http_runner.h"

#include <curl/curl.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/text.h"
#include "cron/cron_expr.h"
#include "engine/connection_guard.h"

namespace cronkit::engine {
namespace {

constexpr std::size_t kOutputLimit = kMaxOutputBytes;

bool reserved_header(std::string_view name) {
  return iequals(name, "X-Cronkit-Task-Id") || iequals(name, "X-Cronkit-Execution-Id") ||
         iequals(name, "X-Cronkit-Scheduled-For");
}

// Header names and values reach the wire as they are: refuse anything that could end a
// header line early.
bool clean(std::string_view s) {
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~GlobalInit() { curl_global_cleanup(); }
};

}  // namespace

std::optional<Millis> retry_after_ms(const std::string& value) {
  if (!value.empty() &&
      std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return Millis{86400} * 1000 * 365;  // far away: the cap decides
    return std::stoll(value) * 1000;
  }
  const std::time_t at = curl_getdate(value.c_str(), nullptr);  // an HTTP date
  if (at < 0) return std::nullopt;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const Millis ms =
      Millis{at} * 1000 - std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  return std::max<Millis>(ms, 0);
}

std::string rfc3339(Millis t) {
  return cron::format_utc(cron::Instant{std::chrono::seconds{(t >= 0 ? t : t - 999) / 1000}});
}

struct HttpRunner::Transfer {
  std::uint64_t id = 0;
  HttpRequest request;
  HttpRunner::Answered done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string output;
  std::string reason;       // of the last status line
  std::string retry_after;  // of the last response, as sent
  char error[CURL_ERROR_SIZE] = {};
  std::string setup_error;
  const OutboundRules* rules = nullptr;
  ConnectionGuard guard;  // every connection held to `rules`

  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::size_t bytes = size * n;
    if (t->output.size() < kOutputLimit) {
      t->output.append(data, std::min(bytes, kOutputLimit - t->output.size()));
    }
    return bytes;  // read and drop the rest: memory stays bounded whatever the size
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* t = static_cast<Transfer*>(self);
    std::string_view line{data, size * n};
    if (line.starts_with("HTTP/")) {
      // "HTTP/1.1 404 Not Found": a new response (after a redirect) starts afresh.
      t->output.clear();
      t->reason.clear();
      t->retry_after.clear();
      auto sp1 = line.find(' ');
      auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 != std::string_view::npos) {
        std::string_view reason = line.substr(sp2 + 1);
        while (!reason.empty() && (reason.back() == '\r' || reason.back() == '\n')) {
          reason.remove_suffix(1);
        }
        t->reason = std::string(reason);
      }
    }
    constexpr std::string_view kRetryAfter = "retry-after:";
    if (line.size() > kRetryAfter.size() &&
        iequals(line.substr(0, kRetryAfter.size()), kRetryAfter)) {
      std::string_view value = line.substr(kRetryAfter.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
        value.remove_suffix(1);
      }
      t->retry_after = std::string(value);
    }
    return size * n;
  }

  // Prepares the easy handle; returns false (with setup_error) for a request that cannot
  // be sent.
  bool prepare() {
    easy = curl_easy_init();
    if (!easy) {
      setup_error = "out of memory";
      return false;
    }
    const HttpRequest& r = request;
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::max<Millis>(r.timeout_ms, 1)));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::clamp<Millis>(r.timeout_ms, 1, 30000)));
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, this);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "cronkit");
    guard.attach(easy, *rules);
    // A proxy from the environment would send task traffic somewhere unexpected.
    curl_easy_setopt(easy, CURLOPT_PROXY, "");

    std::string method = r.method.empty() ? "GET" : r.method;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    if (!r.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }

    if (!r.headers_json.empty()) {
      boost::system::error_code ec;
      auto v = boost::json::parse(r.headers_json, ec);
      if (ec || !v.is_object()) {
        setup_error = "httpHeaders is not a JSON object";
        return false;
      }
      for (const auto& [key, value] : v.as_object()) {
        if (!value.is_string()) {
          setup_error = "httpHeaders." + std::string(key) + " is not a string";
          return false;
        }
        std::string_view name = key;
        std::string_view text = value.as_string();
        if (name.empty() || !clean(name) || !clean(text) || name.find(':') != name.npos) {
          setup_error = "httpHeaders has an invalid header '" + std::string(name) + "'";
          return false;
        }
        if (reserved_header(name)) continue;
        headers =
            curl_slist_append(headers, (std::string(name) + ": " + std::string(text)).c_str());
      }
    }
    headers = curl_slist_append(headers, ("X-Cronkit-Task-Id: " + r.task_id).c_str());
    headers = curl_slist_append(headers, ("X-Cronkit-Execution-Id: " + r.execution_id).c_str());
    headers = curl_slist_append(headers,
                                ("X-Cronkit-Scheduled-For: " + rfc3339(r.scheduled_for)).c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    return true;
  }
};

HttpRunner::HttpRunner(OutboundRules rules) : rules_(std::move(rules)) {
  static GlobalInit init;
  multi_ = curl_multi_init();
}

HttpRunner::~HttpRunner() {
  stop();
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

void HttpRunner::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void HttpRunner::stop() {
  stopping_ = true;
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  if (thread_.joinable()) thread_.join();
}

void HttpRunner::send(std::uint64_t id, HttpRequest request, Answered done) {
  std::vector<std::unique_ptr<Transfer>> one;
  one.push_back(make_transfer(id, std::move(request), std::move(done)));
  add(std::move(one));
}

std::unique_ptr<HttpRunner::Transfer> HttpRunner::make_transfer(std::uint64_t id,
                                                                HttpRequest request,
                                                                Answered done) {
  auto t = std::make_unique<Transfer>();
  t->rules = &rules_;
  t->id = id;
  t->request = std::move(request);
  t->done = std::move(done);
  return t;
}

void HttpRunner::add(std::vector<std::unique_ptr<Transfer>> transfers) {
  in_flight_ += transfers.size();
  {
    std::lock_guard lock{mutex_};
    for (auto& t : transfers)
      pending_.push_back(std::move(t));
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));  // once for the whole burst
}

void HttpRunner::submit(std::vector<Job> jobs) {
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.reserve(jobs.size());
  for (auto& [attempt, done] : jobs) {
    const Task& t = *attempt.task;
    HttpRequest req;
    req.method = t.http_method.value_or("GET");
    req.url = t.http_url.value_or("");
    req.headers_json = t.http_headers.value_or("");
    req.body = t.http_body.value_or("");
    req.timeout_ms = t.timeout_seconds * Millis{1000};
    req.task_id = t.id;
    req.execution_id = std::move(attempt.execution_id);
    req.scheduled_for = attempt.scheduled_for;
    transfers.push_back(
        make_transfer(attempt.id, std::move(req), [done = std::move(done)](HttpResult r) {
          done({.ok = r.ok,
                .retryable = !r.refused,
                .timed_out = r.timed_out,
                .message = std::move(r.summary),
                .output = std::move(r.output),
                .retry_after = r.retry_after_ms});
        }));
  }
  add(std::move(transfers));
}

void HttpRunner::cancel(std::uint64_t id) {
  {
    std::lock_guard lock{mutex_};
    cancelled_.push_back(id);
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

std::size_t HttpRunner::in_flight() const {
  return in_flight_;
}

void HttpRunner::add_pending() {
  std::vector<std::unique_ptr<Transfer>> pending;
  std::vector<std::uint64_t> cancelled;
  {
    std::lock_guard lock{mutex_};
    pending.swap(pending_);
    cancelled.swap(cancelled_);
  }
  auto* multi = static_cast<CURLM*>(multi_);
  for (auto& t : pending) {
    if (std::find(cancelled.begin(), cancelled.end(), t->id) != cancelled.end()) {
      --in_flight_;
      continue;
    }
    Transfer* raw = t.get();
    if (!t->prepare()) {
      HttpResult r;
      r.summary = t->setup_error;
      --in_flight_;
      t->done(std::move(r));
      continue;
    }
    active_[t->id] = std::move(t);
    curl_multi_add_handle(multi, raw->easy);
  }
  for (auto id : cancelled) {
    auto it = active_.find(id);
    if (it == active_.end()) continue;
    curl_multi_remove_handle(multi, it->second->easy);
    active_.erase(it);
    --in_flight_;
  }
}

void HttpRunner::finish(Transfer* t, int curl_code) {
  HttpResult r;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  r.status = static_cast<int>(status);
  r.output = printable_utf8(t->output);  // a body may be binary
  auto code = static_cast<CURLcode>(curl_code);
  if (code != CURLE_OK && !t->guard.refused().empty()) {
    r.refused = true;
    r.summary = "refused: " + t->guard.refused();
  } else if (code == CURLE_OK) {
    r.ok = status >= 200 && status < 300;
    if ((status == 429 || status == 503) && !t->retry_after.empty()) {
      r.retry_after_ms = retry_after_ms(t->retry_after);
    }
    r.summary = "HTTP " + std::to_string(status) + (t->reason.empty() ? "" : " " + t->reason);
  } else if (code == CURLE_UNSUPPORTED_PROTOCOL) {
    r.summary = "only http and https URLs are allowed (also after a redirect)";
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    r.timed_out = true;
    r.summary = "timed out after " + std::to_string(t->request.timeout_ms / 1000) + " s";
  } else if (code == CURLE_TOO_MANY_REDIRECTS) {
    r.summary = "more than 5 redirects";
  } else {
    r.summary = std::string(curl_easy_strerror(code));
    if (t->error[0]) r.summary += ": " + std::string(t->error);
  }
  t->done(std::move(r));
}

void HttpRunner::run() {
  auto* multi = static_cast<CURLM*>(multi_);
  while (!stopping_) {
    add_pending();
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      int code = msg->data.result;
      curl_multi_remove_handle(multi, msg->easy_handle);
      auto owned = std::move(active_[t->id]);
      active_.erase(t->id);
      --in_flight_;
      finish(owned.get(), code);
    }
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  for (auto& [id, t] : active_)
    curl_multi_remove_handle(multi, t->easy);
  active_.clear();
  std::lock_guard lock{mutex_};
  pending_.clear();
  in_flight_ = 0;
}

}  // namespace cronkit::engine
