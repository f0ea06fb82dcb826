#include "notify/sender.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>

#include "core/text.h"
#include "engine/connection_guard.h"
#include "engine/http_runner.h"

namespace cronkit::notify {
namespace {

namespace json = boost::json;

struct GlobalInit {
  GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~GlobalInit() { curl_global_cleanup(); }
};

struct Exchange {
  std::string retry_after;

  // The answer's body is not kept: only its status counts.
  static std::size_t on_body(char*, std::size_t size, std::size_t n, void*) { return size * n; }
  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) {
    auto* x = static_cast<Exchange*>(self);
    std::string_view line{data, size * n};
    constexpr std::string_view kRetryAfter = "retry-after:";
    if (line.size() > kRetryAfter.size() &&
        iequals(line.substr(0, kRetryAfter.size()), kRetryAfter)) {
      std::string_view value = line.substr(kRetryAfter.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
      while (!value.empty() &&
             (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
      x->retry_after = std::string(value);
    }
    return size * n;
  }
};

using Easy = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using Headers = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

void add_header(Headers& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next) {
    (void)list.release();
    list.reset(next);
  }
}

// The subject as RFC 2047 encoded-words of at most 45 bytes of whole UTF-8 characters each
// (72 characters encoded), folded, when it is not printable ASCII.
std::string header_text(std::string_view text) {
  if (std::ranges::all_of(text, [](char ch) { return ch >= 0x20 && ch < 0x7f; })) {
    return std::string(text);
  }
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t end = i;
    while (end < text.size()) {
      const std::size_t n = std::max<std::size_t>(utf8_sequence(text, end), 1);
      if (end + n - i > 45) break;
      end += n;
    }
    const std::string_view chunk = text.substr(i, end - i);
    std::string encoded(4 * ((chunk.size() + 2) / 3) + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                        reinterpret_cast<const unsigned char*>(chunk.data()),
                                        static_cast<int>(chunk.size()));
    encoded.resize(static_cast<std::size_t>(written));
    out += (out.empty() ? "" : "\r\n ") + std::string("=?UTF-8?B?") + encoded + "?=";
    i = end;
  }
  return out;
}

// Lines ended with CRLF, as SMTP wants them.
std::string crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char ch : text) {
    if (ch == '\r') continue;
    if (ch == '\n') out += '\r';
    out += ch;
  }
  return out;
}

std::string rfc5322_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 64> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return std::string(text.data(), n);
}

// Feeds the message to libcurl's upload.
struct Upload {
  std::string_view rest;
  static std::size_t read(char* buffer, std::size_t size, std::size_t n, void* self) {
    auto* u = static_cast<Upload*>(self);
    const std::size_t count = std::min(size * n, u->rest.size());
    std::memcpy(buffer, u->rest.data(), count);
    u->rest.remove_prefix(count);
    return count;
  }
};

}  // namespace

std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  const std::string t = std::to_string(unix_seconds);
  std::string signed_text;
  signed_text.reserve(t.size() + 1 + body.size());
  signed_text.append(t).append(".").append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac.data(),
       &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "t=" + t + ",v1=";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

std::string slack_body(const Notice& notice) {
  std::string text = "*" + notice.summary + "*";
  if (!notice.detail.empty()) text += "\n" + notice.detail;
  json::object section{{"type", "section"},
                       {"text", json::object{{"type", "mrkdwn"}, {"text", text}}}};
  return json::serialize(
      json::object{{"text", notice.summary}, {"blocks", json::array{std::move(section)}}});
}

std::string mail_message(const Channel& channel, const Notice& notice, std::string_view date) {
  std::string to;
  for (const auto& a : channel.mail_to)
    to += (to.empty() ? "" : ", ") + a;
  std::string m;
  m += "Date: " + std::string(date) + "\r\n";
  m += "From: " + channel.mail_from + "\r\n";
  m += "To: " + to + "\r\n";
  m += "Subject: " + header_text(notice.summary) + "\r\n";
  m += "Message-ID: <" + notice.delivery_id + "@cronkit>\r\n";
  m += "X-Cronkit-Delivery: " + notice.delivery_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += crlf(notice.summary) + "\r\n";
  if (!notice.detail.empty()) m += "\r\n" + crlf(notice.detail) + "\r\n";
  return m;
}

Sender::Sender(int threads, std::int64_t timeout_ms, OutboundRules rules)
    : timeout_ms_(timeout_ms), rules_(std::move(rules)) {
  static GlobalInit init;
  for (int i = 0; i < std::max(threads, 1); ++i)
    threads_.emplace_back([this] { work(); });
}

Sender::~Sender() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void Sender::send(Channel channel, Notice notice, std::function<void(Sent)> done) {
  {
    std::lock_guard lock{mutex_};
    queue_.push_back({std::move(channel), std::move(notice), std::move(done)});
  }
  wake_.notify_one();
}

std::size_t Sender::discard_queued() {
  std::lock_guard lock{mutex_};
  const std::size_t n = queue_.size();
  queue_.clear();
  return n;
}

void Sender::work() {
  // One handle per thread for HTTP, reset between sends: it keeps its connections (a
  // receiver that allows keep-alive is not connected to again for each delivery) and its
  // caches. A mail gets a handle of its own: an SMTP session carries a login and its TLS
  // state, which no other channel's mail may reuse.
  Easy easy{curl_easy_init(), curl_easy_cleanup};
  std::unique_lock lock{mutex_};
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Sent sent;
    if (easy && job.channel.type != ChannelType::email) {
      curl_easy_reset(easy.get());
      sent = send_on(easy.get(), job.channel, job.notice);
    } else {
      sent = send_now(job.channel, job.notice);
    }
    if (job.done) job.done(std::move(sent));
    lock.lock();
  }
}

Sent Sender::send_now(const Channel& channel, const Notice& notice) const {
  Easy easy{curl_easy_init(), curl_easy_cleanup};
  if (!easy) return {.error = "out of memory"};
  return send_on(easy.get(), channel, notice);
}

Sent Sender::send_on(void* handle, const Channel& channel, const Notice& notice) const {
  const auto started = std::chrono::steady_clock::now();
  Sent out;
  auto finish = [&](Sent s) {
    s.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    return s;
  };
  CURL* e = static_cast<CURL*>(handle);
  if (channel.type == ChannelType::email) return finish(mail(e, channel, notice));
  Headers headers{nullptr, curl_slist_free_all};
  const std::string body =
      channel.type == ChannelType::slack ? slack_body(notice) : notice.document;
  add_header(headers, "Content-Type: application/json");
  if (channel.type == ChannelType::webhook) {
    if (channel.headers) {
      boost::system::error_code ec;
      auto v = json::parse(*channel.headers, ec);
      if (ec || !v.is_object())
        return finish({.error = "the channel's headers are not a JSON object"});
      for (const auto& [name, value] : v.as_object()) {
        if (!value.is_string()) continue;  // refused when the channel was saved
        add_header(headers, std::string(name) + ": " + std::string(value.as_string()));
      }
    }
    add_header(headers, "X-Cronkit-Delivery: " + notice.delivery_id);
    if (channel.secret) {
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      add_header(headers, "X-Cronkit-Signature: " + signature(*channel.secret, now, body));
    }
  }
  Exchange x;
  std::array<char, CURL_ERROR_SIZE> error{};
  curl_easy_setopt(e, CURLOPT_URL, channel.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms_));
  curl_easy_setopt(e, CURLOPT_USERAGENT, "cronkit");
  curl_easy_setopt(e, CURLOPT_PROXY, "");  // not a proxy from the environment
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Exchange::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Exchange::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error.data());
  engine::ConnectionGuard guard;
  guard.attach(e, rules_);
  const CURLcode code = curl_easy_perform(e);
  if (code != CURLE_OK) {
    out.error = !guard.refused().empty() ? "refused: " + guard.refused()
                : error[0]               ? std::string(error.data())
                                         : std::string(curl_easy_strerror(code));
    return finish(std::move(out));
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  out.ok = status >= 200 && status < 300;
  if (!out.ok) {
    out.error = "the receiver answered " + std::to_string(status);
    if ((status == 429 || status == 503) && !x.retry_after.empty()) {
      out.retry_after_ms = engine::retry_after_ms(x.retry_after);
    }
  }
  return finish(std::move(out));
}

Sent Sender::mail(CURL* e, const Channel& channel, const Notice& notice) const {
  const std::string message = mail_message(channel, notice, rfc5322_now());
  Upload upload{message};
  Headers recipients{nullptr, curl_slist_free_all};
  for (const auto& a : channel.mail_to)
    add_header(recipients, "<" + a + ">");
  const std::string from = "<" + channel.mail_from + ">";
  std::array<char, CURL_ERROR_SIZE> error{};
  curl_easy_setopt(e, CURLOPT_URL, channel.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms_));
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, &Upload::read);
  curl_easy_setopt(e, CURLOPT_READDATA, &upload);
  curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error.data());
  if (channel.start_tls) curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (channel.username) curl_easy_setopt(e, CURLOPT_USERNAME, channel.username->c_str());
  if (channel.password) curl_easy_setopt(e, CURLOPT_PASSWORD, channel.password->c_str());
  engine::ConnectionGuard guard;
  guard.attach(e, rules_);
  const CURLcode code = curl_easy_perform(e);
  Sent out;
  long reply = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply);
  if (reply > 0) out.status = static_cast<int>(reply);
  out.ok = code == CURLE_OK;
  if (!out.ok) {
    out.error = !guard.refused().empty() ? "refused: " + guard.refused()
                : error[0]               ? std::string(error.data())
                                         : std::string(curl_easy_strerror(code));
  }
  return out;
}

}  // namespace cronkit::notify
