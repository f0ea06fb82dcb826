#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/store.h"
#include "notify/sender.h"

namespace cronkit::notify {

/// What a delivery of an event says: the summary kept with it, a detail told from its payload
/// (the task, the execution, the error, a link to the task in the admin UI when `admin_url`
/// is set), and the webhook's document: the payload with deliveryId and link.
Notice render(const Delivery& d, std::string_view admin_url);

/// One message for several deliveries to a rate-limited channel: how many of each kind, then
/// each one's summary, oldest first.
Notice render_digest(std::span<const Delivery> deliveries, std::string_view admin_url);

/// When a delivery that `sent` did not deliver is tried again, or nullopt if it fails for
/// good: at once for an answer that will not change (an HTTP 4xx but 408 and 429, an SMTP
/// 5xx), else after `first_retry_ms` x 2^(attempts-1), at most an hour, and no sooner than
/// a Retry-After asked, until 24 hours after the delivery was queued (the last attempt
/// then).
std::optional<Millis> next_attempt(const Delivery& d, ChannelType type, const Sent& sent,
                                   Millis now, Millis first_retry_ms);

struct OutboxOptions {
  std::string owner;      // whose lease a delivery is under: unique per server run
  std::string admin_url;  // the admin UI's address for links (empty: none)
  Millis poll_ms = 1000;  // how often it looks for due deliveries it was not woken for
  Millis lease_ms = 60'000;
  Millis first_retry_ms = 10'000;
  int max_in_flight = 64;
  /// After each attempt: the delivery as written, its channel's type, and for a finished
  /// one the time from its event to its end in seconds.
  std::function<void(const Delivery&, ChannelType, std::optional<double> seconds)> on_attempt;
};

/// Sends the store's pending deliveries: leases what is due (Store::lease_deliveries), sends
/// each (a rate-limited channel's as one digest) through the Sender, and writes the outcome:
/// delivered, failed, or pending again with its next attempt. Woken by the store when a
/// commit queued deliveries, and every poll_ms for retries and for what other servers left.
///   Outbox outbox{store, sender, clock, {...}};  outbox.start();  ...  outbox.stop();
class Outbox {
 public:
  Outbox(Store& store, Sender& sender, const Clock& clock, OutboxOptions options);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void start();
  /// Stops leasing, drops what waits for a sender thread (it stays leased, and is sent
  /// again once its lease ran out), and waits for the sends under way to be written. The
  /// sender must serve only this outbox.
  void stop();
  /// Looks for due deliveries now.
  void wake();

 private:
  void loop();
  void deliver(std::vector<Delivery> batch);
  // Writes how an attempt at `ds` (one delivery, or a digest's) ended; `final`: not to be
  // tried again, whatever it was.
  void finish(std::vector<Delivery> ds, ChannelType type, const Sent& sent, bool final = false);

  Store& store_;
  Sender& sender_;
  const Clock& clock_;
  const OutboxOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool woken_ = false;
  bool stopping_ = false;
  int in_flight_ = 0;
  std::thread thread_;
};

}  // namespace cronkit::notify
