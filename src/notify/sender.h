#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/channel.h"
#include "core/outbound.h"

namespace cronkit::notify {

/// What a notification says, in the form every channel type renders: a webhook posts
/// `document`; Slack shows `summary` and `detail`.
struct Notice {
  std::string delivery_id;  // unique per delivery, the same on each retry (X-Cronkit-Delivery)
  std::string summary;      // one line: "[cronkit] backup-db failed"
  std::string detail;       // more lines, plain text
  std::string document;     // the webhook's JSON body
};

/// How one attempt to deliver ended.
struct Sent {
  bool ok = false;
  std::optional<int> status;                   // the receiver's HTTP status, if it answered
  std::string error;                           // why it failed, empty when ok
  std::optional<std::int64_t> retry_after_ms;  // a 429 or 503 answer's Retry-After
  std::int64_t duration_ms = 0;
};

/// The X-Cronkit-Signature header's value for a body sent at `unix_seconds`:
/// "t=<unix_seconds>,v1=<hex HMAC-SHA256 of "<unix_seconds>.<body>" keyed by secret>".
std::string signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

/// The body posted to a Slack incoming webhook: the summary as text (what a phone's
/// notification shows) and a section block with the summary in bold and the detail.
std::string slack_body(const Notice& notice);

/// The message mailed to an email channel: RFC 5322 headers (the subject is the summary,
/// RFC 2047-encoded when it is not ASCII) and the summary and detail as UTF-8 plain text,
/// with CRLF line ends. `date` is the Date header's value.
std::string mail_message(const Channel& channel, const Notice& notice, std::string_view date);

/// Sends notices to channels (HTTP(S) or SMTP, through libcurl), each on one of its own threads, so
/// that no caller waits on a receiver. Redirects are not followed and no proxy from the environment
/// is used; a connection the outbound `rules` refuse is not made; a send gives up after
/// `timeout_ms`. A mail is sent once the server accepted it for
/// every recipient.
///   Sender s;  s.send(channel, notice, [](Sent r) { ... });
class Sender {
 public:
  explicit Sender(int threads = 2, std::int64_t timeout_ms = 10000, OutboundRules rules = {});
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  /// Queues a delivery; `done` is called once, on a sender thread, with its outcome
  /// (or not at all if the sender is destroyed first).
  void send(Channel channel, Notice notice, std::function<void(Sent)> done);
  /// Drops the queued deliveries that no thread has started (their `done` is never
  /// called); returns how many.
  std::size_t discard_queued();
  /// Delivers on the calling thread.
  Sent send_now(const Channel& channel, const Notice& notice) const;
  std::int64_t timeout_ms() const { return timeout_ms_; }

 private:
  struct Job {
    Channel channel;
    Notice notice;
    std::function<void(Sent)> done;
  };
  void work();
  // Delivers on easy handle `e` (a CURL*), set up from scratch.
  Sent send_on(void* e, const Channel& channel, const Notice& notice) const;
  // Mails the notice through the channel's SMTP server on easy handle `e`.
  Sent mail(void* e, const Channel& channel, const Notice& notice) const;

  const std::int64_t timeout_ms_;
  const OutboundRules rules_;  // where it may connect (webhooks, Slack, SMTP servers)
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cronkit::notify
