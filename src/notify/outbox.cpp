#include "notify/outbox.h"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <ctime>
#include <map>

namespace cronkit::notify {
namespace {

namespace json = boost::json;

constexpr Millis kMaxRetryDelay = 3'600'000;
constexpr Millis kGiveUpAfter = 24 * 3'600'000;

std::string utc(Millis at) {
  const std::time_t seconds = static_cast<std::time_t>(at / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> text{};
  const std::size_t n = std::strftime(text.data(), text.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(text.data(), n);
}

std::string task_link(std::string_view admin_url, const json::object& payload) {
  if (admin_url.empty()) return {};
  auto* task = payload.if_contains("task");
  auto* id = task && task->is_object() ? task->as_object().if_contains("id") : nullptr;
  if (!id || !id->is_string()) return std::string(admin_url);
  return std::string(admin_url) + "/tasks/" + std::string(id->as_string());
}

// What the payload tells, a line each.
std::string detail_of(const json::object& p) {
  std::string out;
  auto line = [&](std::string_view label, const std::string& value) {
    out += std::string(label) + ": " + value + "\n";
  };
  if (auto* task = p.if_contains("task"); task && task->is_object()) {
    if (auto* name = task->as_object().if_contains("name"); name && name->is_string()) {
      line("Task", std::string(name->as_string()));
    }
  }
  if (auto* x = p.if_contains("execution"); x && x->is_object()) {
    const json::object& e = x->as_object();
    auto text = [&](std::string_view key) -> std::string {
      auto* v = e.if_contains(key);
      return v && v->is_string() ? std::string(v->as_string()) : std::string{};
    };
    auto time = [&](std::string_view key) -> std::optional<Millis> {
      auto* v = e.if_contains(key);
      return v && v->is_int64() ? std::optional{v->as_int64()} : std::nullopt;
    };
    std::string status = text("status");
    if (auto* n = e.if_contains("attempts"); n && n->is_int64() && n->as_int64() > 1) {
      status += " after " + std::to_string(n->as_int64()) + " attempts";
    }
    line("Status", status);
    if (auto error = text("errorMessage"); !error.empty()) line("Error", error);
    if (auto at = time("scheduledFor")) line("Scheduled for", utc(*at));
    if (auto at = time("startedAt")) line("Started", utc(*at));
    if (auto at = time("finishedAt")) line("Finished", utc(*at));
    line("Execution", text("id"));
  }
  if (auto* n = p.if_contains("consecutiveFailures"); n && n->is_int64() && n->as_int64() > 1) {
    line("Failures in a row", std::to_string(n->as_int64()));
  }
  if (auto* m = p.if_contains("missed"); m && m->is_object()) {
    const json::object& o = m->as_object();
    auto* first = o.if_contains("first");
    auto* last = o.if_contains("last");
    if (first && last && first->is_int64() && last->is_int64()) {
      line("Missed", first->as_int64() == last->as_int64()
                         ? utc(first->as_int64())
                         : utc(first->as_int64()) + " to " + utc(last->as_int64()));
    }
  }
  if (auto* note = p.if_contains("note"); note && note->is_string()) {
    line("Why", std::string(note->as_string()));
  }
  if (!out.empty()) out.pop_back();
  return out;
}

json::object parse_payload(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

}  // namespace

Notice render(const Delivery& d, std::string_view admin_url) {
  json::object payload = parse_payload(d.payload);
  Notice n;
  n.delivery_id = d.id;
  n.summary = d.summary;
  n.detail = detail_of(payload);
  const std::string link = task_link(admin_url, payload);
  if (!link.empty()) n.detail += (n.detail.empty() ? "" : "\n") + link;
  json::object document{{"kind", to_string(d.event)}, {"deliveryId", d.id}};
  for (auto& [key, value] : payload) {
    if (key != "kind") document[key] = std::move(value);
  }
  if (!link.empty()) document["link"] = link;
  n.document = json::serialize(document);
  return n;
}

Notice render_digest(std::span<const Delivery> deliveries, std::string_view admin_url) {
  std::map<NotifyEvent, int> kinds;
  json::array events;
  std::string lines;
  for (const auto& d : deliveries) {
    ++kinds[d.event];
    std::string_view s = d.summary;
    if (s.starts_with("[cronkit] ")) s.remove_prefix(10);
    lines += "- " + std::string(s) + "\n";
    json::object e = parse_payload(d.payload);
    e["deliveryId"] = d.id;
    events.push_back(std::move(e));
  }
  std::string counts;
  for (const auto& [event, count] : kinds) {
    counts +=
        (counts.empty() ? "" : ", ") + std::to_string(count) + " " + std::string(to_string(event));
  }
  Notice n;
  n.delivery_id = deliveries.empty() ? std::string{} : deliveries.front().id;
  n.summary = "[cronkit] " + std::to_string(deliveries.size()) + " notifications (" + counts + ")";
  n.detail = lines;
  if (!admin_url.empty()) n.detail += std::string(admin_url);
  while (!n.detail.empty() && n.detail.back() == '\n')
    n.detail.pop_back();
  json::object document{{"kind", "digest"},
                        {"deliveryId", n.delivery_id},
                        {"count", deliveries.size()},
                        {"events", std::move(events)}};
  if (!admin_url.empty()) document["link"] = admin_url;
  n.document = json::serialize(document);
  return n;
}

std::optional<Millis> next_attempt(const Delivery& d, ChannelType type, const Sent& sent,
                                   Millis now, Millis first_retry_ms) {
  if (sent.status) {
    const int s = *sent.status;
    const bool permanent = type == ChannelType::email ? s >= 500 && s < 600
                                                      : s >= 400 && s < 500 && s != 408 && s != 429;
    if (permanent) return std::nullopt;
  }
  const Millis last = d.created_at + kGiveUpAfter;
  if (now >= last) return std::nullopt;
  Millis delay = std::max<Millis>(first_retry_ms, 1);
  for (int i = 1; i < d.attempts && delay < kMaxRetryDelay; ++i)
    delay *= 2;
  delay = std::min(delay, kMaxRetryDelay);
  if (sent.retry_after_ms) delay = std::max(delay, *sent.retry_after_ms);
  return std::min(now + delay, last);
}

Outbox::Outbox(Store& store, Sender& sender, const Clock& clock, OutboxOptions options)
    : store_(store), sender_(sender), clock_(clock), options_(std::move(options)) {}

Outbox::~Outbox() {
  stop();
}

void Outbox::start() {
  // Never under mutex_: the store calls wake() with its own locks held.
  try {
    store_.end_leases();  // a server killed while sending left them: sent again now
  } catch (const StoreError&) {
    // They run out.
  }
  std::lock_guard lock{mutex_};
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Outbox::stop() {
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // What waits for a sender thread stays leased in the store, and is sent once the lease
  // ran out; the sends under way finish (within the sender's timeout) and are written.
  const std::size_t dropped = sender_.discard_queued();
  std::unique_lock lock{mutex_};
  in_flight_ -= static_cast<int>(dropped);
  idle_.wait(lock, [&] { return in_flight_ == 0; });
}

void Outbox::wake() {
  {
    std::lock_guard lock{mutex_};
    woken_ = true;
  }
  wake_.notify_one();
}

void Outbox::loop() {
  std::unique_lock lock{mutex_};
  while (!stopping_) {
    const int room = options_.max_in_flight - in_flight_;
    if (room > 0) {
      lock.unlock();
      std::vector<Delivery> due;
      try {
        const Millis now = clock_.now();
        due = store_.lease_deliveries(options_.owner, now, now + options_.lease_ms, room);
      } catch (const StoreError&) {
        // The database is away: the next poll tries again.
      }
      const bool full = static_cast<int>(due.size()) >= room;
      if (!due.empty()) deliver(std::move(due));
      lock.lock();
      if (full) continue;  // more may be due
    }
    if (!woken_ && !stopping_) {
      clock_.wait_until(lock, wake_, clock_.now() + options_.poll_ms);
    }
    woken_ = false;
  }
}

void Outbox::deliver(std::vector<Delivery> batch) {
  // By channel, in the order leased.
  std::vector<std::pair<std::string, std::vector<Delivery>>> groups;
  for (auto& d : batch) {
    auto it = std::ranges::find(groups, d.channel_id, &decltype(groups)::value_type::first);
    if (it == groups.end()) {
      groups.emplace_back(d.channel_id, std::vector<Delivery>{});
      it = std::prev(groups.end());
    }
    it->second.push_back(std::move(d));
  }
  for (auto& [channel_id, ds] : groups) {
    std::optional<Channel> channel;
    try {
      channel = store_.get_channel(channel_id);
    } catch (const StoreError&) {
      continue;  // the leases run out and the deliveries are tried again
    }
    if (!channel) {
      finish(std::move(ds), ChannelType::webhook, Sent{.error = "the channel was deleted"}, true);
      continue;
    }
    const ChannelType type = channel->type;
    auto send = [&](std::vector<Delivery> part, Notice notice) {
      {
        std::lock_guard lock{mutex_};
        ++in_flight_;
      }
      sender_.send(*channel, std::move(notice),
                   [this, part = std::move(part), type](Sent sent) mutable {
                     finish(std::move(part), type, sent);
                     std::lock_guard lock{mutex_};
                     --in_flight_;
                     idle_.notify_all();
                     wake_.notify_one();
                   });
    };
    if (send_interval(type) > 0 && ds.size() > 1) {
      Notice digest = render_digest(ds, options_.admin_url);
      send(std::move(ds), std::move(digest));
    } else {
      for (auto& d : ds) {
        Notice notice = render(d, options_.admin_url);
        send(std::vector<Delivery>{std::move(d)}, std::move(notice));
      }
    }
  }
}

void Outbox::finish(std::vector<Delivery> ds, ChannelType type, const Sent& sent, bool final) {
  const Millis now = clock_.now();
  for (auto& d : ds) {
    ++d.attempts;
    d.last_status = sent.status ? std::optional<std::int64_t>{*sent.status} : std::nullopt;
    d.last_error = sent.ok ? std::nullopt : std::optional<std::string>{sent.error};
    std::optional<double> seconds;
    if (sent.ok) {
      d.status = DeliveryStatus::delivered;
      d.next_attempt_at.reset();
      d.finished_at = now;
    } else if (auto next = final ? std::nullopt
                                 : next_attempt(d, type, sent, now, options_.first_retry_ms)) {
      d.next_attempt_at = next;
    } else {
      d.status = DeliveryStatus::failed;
      d.next_attempt_at.reset();
      d.finished_at = now;
    }
    if (d.finished_at) seconds = static_cast<double>(*d.finished_at - d.created_at) / 1000;
    try {
      store_.update_delivery(d);
    } catch (const StoreError&) {
      // Its lease runs out and it is sent again, with the same delivery id.
      continue;
    }
    if (options_.on_attempt) options_.on_attempt(d, type, seconds);
  }
}

}  // namespace cronkit::notify
