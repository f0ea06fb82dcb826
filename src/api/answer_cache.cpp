#include "api/answer_cache.h"

namespace cronkit::api {

std::optional<std::string> AnswerCache::find(std::string_view key, Versions now) const {
  std::lock_guard lock{mutex_};
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.versions != now) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second.body;
}

void AnswerCache::put(std::string_view key, Versions built_from, std::string body) {
  std::lock_guard lock{mutex_};
  if (entries_.size() >= capacity_ && !entries_.contains(key)) {
    std::erase_if(entries_, [&](const auto& e) { return e.second.versions != built_from; });
    if (entries_.size() >= capacity_) entries_.clear();
  }
  entries_.insert_or_assign(std::string(key), Entry{built_from, std::move(body)});
}

}  // namespace cronkit::api
