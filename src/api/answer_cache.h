#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cronkit::api {

/// Answers kept with the versions of the data they were built from (the store's and the
/// schedule's), and given again while neither has moved: a page that many clients poll is
/// built once per change, and never served after one. Thread-safe.
///   Versions v{store.version(), engine.schedule_version()};   // before reading the data
///   if (auto body = cache.find(key, v)) return *body;
///   ... build body ...;  cache.put(key, v, body);
class AnswerCache {
 public:
  struct Versions {
    std::uint64_t store = 0;
    std::uint64_t schedule = 0;
    bool operator==(const Versions&) const = default;
  };

  explicit AnswerCache(std::size_t capacity = 64) : capacity_(capacity) {}

  std::optional<std::string> find(std::string_view key, Versions now) const;
  /// Keeps `body`; when full, drops the answers built from older versions first.
  void put(std::string_view key, Versions built_from, std::string body);

  /// Finds that gave an answer, and finds that did not.
  std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    Versions versions;
    std::string body;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  mutable std::atomic<std::uint64_t> hits_{0};
  mutable std::atomic<std::uint64_t> misses_{0};
};

}  // namespace cronkit::api
