#include "engine/timetable.h"

#include <algorithm>

#include "core/hash.h"

namespace cronkit::engine {
namespace {

using std::chrono::seconds;

Millis floor_seconds_ms(Millis t) {
  return (t >= 0 ? t / 1000 : (t - 999) / 1000) * 1000;
}

}  // namespace

cron::Instant to_instant(Millis t) {
  return cron::Instant{seconds{floor_seconds_ms(t) / 1000}};
}

Millis to_millis(cron::Instant t) {
  return t.time_since_epoch().count() * 1000;
}

Millis jitter_delay(std::string_view task_id, Millis instant, Millis limit_ms) {
  if (limit_ms <= 0) return 0;
  // Salted, so that the delay does not follow the cluster's choice of owner (the same hash
  // of task and instant, unsalted).
  const std::uint64_t h =
      mix64(fnv1a(task_id) ^ mix64(static_cast<std::uint64_t>(instant) ^ 0x6a09e667f3bcc909ULL));
  return static_cast<Millis>(h % static_cast<std::uint64_t>(limit_ms));
}

std::vector<Millis> instants_between(const cron::CronExpr& expr, const cron::Zone& zone,
                                     const FiringPolicy& policy, Millis after, Millis until,
                                     std::size_t limit) {
  std::vector<Millis> out;
  if (policy.end) until = std::min(until, *policy.end);
  Millis t = policy.start ? std::max(after, *policy.start - 1) : after;
  while (out.size() < limit) {
    auto n = expr.next_after(to_instant(t), zone);
    if (!n || to_millis(*n) > until) break;
    t = to_millis(*n);
    out.push_back(t);
  }
  return out;
}

Millis Timetable::Slot::starts_at(Millis at) const {
  if (jitter_seconds <= 0) return at;
  Millis limit = jitter_seconds * Millis{1000};
  const Millis following = next_after(at);
  if (following != kNever) limit = std::min(limit, following - at);
  return at + jitter_delay(*task_id, at, limit);
}

Millis Timetable::Slot::next_after(Millis t) const {
  // Strictly after t, and at or after start: search from just before the start.
  const Millis from = start != kNever ? std::max(t, start - 1) : t;
  auto n = expr.next_after(to_instant(from), *zone);
  if (!n || !within(to_millis(*n))) return kNever;
  return to_millis(*n);
}

std::optional<Millis> Timetable::Slot::latest_until(Millis t) const {
  auto last = expr.prev_before(to_instant(std::min(t, end)) + seconds{1}, *zone);
  if (!last || !within(to_millis(*last))) return std::nullopt;
  return to_millis(*last);
}

void Timetable::reserve(std::size_t n) {
  slots_.reserve(n);
  index_.reserve(n);
  std::vector<HeapEntry> entries;
  entries.reserve(n);
  heap_ = decltype(heap_){std::greater<>{}, std::move(entries)};
}

std::vector<DueFiring> Timetable::load(const std::vector<ScheduleSpec>& specs, Millis now) {
  std::vector<DueFiring> catch_ups;
  // Tasks share a handful of patterns and zones: parse each once.
  std::unordered_map<std::string, std::optional<cron::CronExpr>> patterns;
  std::unordered_map<std::string, const cron::Zone*> zones;
  for (const auto& spec : specs) {
    auto p = patterns.find(spec.cron_expression);
    if (p == patterns.end()) {
      auto parsed = cron::CronExpr::parse(spec.cron_expression);
      p = patterns.emplace(spec.cron_expression, parsed ? std::optional{*parsed} : std::nullopt)
              .first;
    }
    auto z = zones.find(spec.timezone);
    if (z == zones.end()) {
      auto found = cron::Zone::find(spec.timezone);
      z = zones.emplace(spec.timezone, found ? found->get() : nullptr).first;
    }
    if (!p->second || !z->second) continue;
    set(spec.id, *p->second, z->second, spec.catch_up, now,
        {spec.start_at, spec.end_at, spec.jitter_seconds});
    if (!spec.catch_up) continue;
    auto last = slots_[index_.find(spec.id)->second].latest_until(now);
    if (last && *last > spec.created_at) catch_ups.push_back({spec.id, *last, Trigger::catch_up});
  }
  return catch_ups;
}

void Timetable::set(const std::string& task_id, cron::CronExpr expr, const cron::Zone* zone,
                    bool catch_up, Millis now, Policy policy) {
  auto [it, added] = index_.try_emplace(task_id, 0);
  if (added) {
    if (free_slots_.empty()) {
      it->second = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      it->second = free_slots_.back();
      free_slots_.pop_back();
    }
  }
  Slot& slot = slots_[it->second];
  slot.task_id = &it->first;
  slot.expr = std::move(expr);
  slot.zone = zone;
  slot.catch_up = catch_up;
  slot.start = policy.start.value_or(kNever);
  slot.end = policy.end.value_or(kForever);
  slot.jitter_seconds = policy.jitter_seconds;
  slot.generation = next_generation_++;
  slot.held = kNever;  // a held firing is checked against the new schedule when due
  slot.next = slot.next_after(now);
  if (slot.next != kNever) heap_.push({slot.starts_at(slot.next), slot.generation, it->second});
  changed();
}

bool Timetable::remove(std::string_view task_id) {
  auto it = index_.find(task_id);
  if (it == index_.end()) return false;
  // Stale heap entries keep pointing here; the generation stops them from firing.
  slots_[it->second] = Slot{};
  free_slots_.push_back(it->second);
  index_.erase(it);
  changed();
  return true;
}

void Timetable::take_due(Millis until, Millis now, Millis misfire_grace,
                         const std::function<bool(const Due&)>& take, std::size_t limit) {
  std::size_t taken = 0;
  while (!heap_.empty() && heap_.top().at <= until) {
    const HeapEntry entry = heap_.top();
    const bool missed = now - entry.at > misfire_grace;
    if (!missed && taken >= limit) return;
    heap_.pop();
    Slot& slot = slots_[entry.slot];
    if (slot.generation != entry.generation || !slot.task_id) continue;
    const Millis instant = slot.next;  // the live entry's (entry.at is when it starts)
    if (missed) {
      std::optional<Millis> latest;
      if (slot.catch_up) latest = slot.latest_until(now);
      take({*slot.task_id, instant, entry.at, slot.generation, slot.catch_up, true, latest});
      slot.next = slot.next_after(now);
    } else {
      const bool claimed =
          take({*slot.task_id, instant, entry.at, slot.generation, slot.catch_up, false, {}});
      taken += claimed;
      if (claimed && entry.at > now && (slot.held == kNever || instant < slot.held)) {
        slot.held = instant;
      }
      slot.next = slot.next_after(instant);
    }
    if (slot.next != kNever) heap_.push({slot.starts_at(slot.next), slot.generation, entry.slot});
    changed();
  }
}

std::optional<Millis> Timetable::earliest() const {
  if (heap_.empty()) return std::nullopt;
  return heap_.top().at;
}

const Timetable::Slot* Timetable::find(std::string_view task_id) const {
  auto it = index_.find(task_id);
  return it == index_.end() ? nullptr : &slots_[it->second];
}

Timetable::Standing Timetable::standing(std::string_view task_id, std::uint64_t generation,
                                        Millis at) const {
  const Slot* slot = find(task_id);
  if (!slot) return Standing::gone;
  if (slot->generation == generation) return Standing::unchanged;
  if (!slot->within(at)) return Standing::gone;
  const cron::Instant instant = to_instant(at);
  return slot->expr.next_after(instant - seconds{1}, *slot->zone) == instant ? Standing::changed
                                                                             : Standing::gone;
}

void Timetable::release(std::string_view task_id, Millis at) {
  auto it = index_.find(task_id);
  if (it == index_.end() || slots_[it->second].held != at) return;
  slots_[it->second].held = kNever;
  changed();
}

void Timetable::release_all() {
  for (auto& slot : slots_)
    slot.held = kNever;
  changed();
}

Millis Timetable::starts_at(std::string_view task_id, Millis instant) const {
  const Slot* slot = find(task_id);
  return slot ? slot->starts_at(instant) : instant;
}

std::optional<Millis> Timetable::next_run(std::string_view task_id) const {
  const Slot* slot = find(task_id);
  if (!slot) return std::nullopt;
  const Millis next = slot->held != kNever ? slot->held : slot->next;
  if (next == kNever) return std::nullopt;
  return slot->starts_at(next);
}

std::vector<std::string> Timetable::task_ids() const {
  std::vector<std::string> ids;
  ids.reserve(index_.size());
  for (const auto& [id, slot] : index_)
    ids.push_back(id);
  return ids;
}

}  // namespace cronkit::engine
