#include "app/logging.h"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <ctime>
#include <memory>

namespace cronkit::app {
namespace {

std::string utc_time(spdlog::log_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[40];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

// One JSON object per line; the message is escaped as JSON text.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    boost::json::object o{
        {"time", utc_time(msg.time)},
        {"level", std::string_view{spdlog::level::to_string_view(msg.level).data(),
                                   spdlog::level::to_string_view(msg.level).size()}},
        {"message", std::string_view{msg.payload.data(), msg.payload.size()}}};
    std::string line = boost::json::serialize(o);
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

namespace {

// The thread that writes log lines. Callers only queue them: the engine logs every
// finished execution under its lock, which must never wait for a terminal or a pipe.
std::shared_ptr<spdlog::details::thread_pool> writer;
// The logger that queues to it. Held here so that it is destroyed by finish_logging, after
// the writer thread has ended, rather than by that thread when it drops the last queued
// line: spdlog is not built with ThreadSanitizer, which would not see the two ordered.
std::shared_ptr<spdlog::async_logger> queueing;

std::shared_ptr<spdlog::logger> synchronous_copy(const spdlog::logger& of) {
  auto logger = std::make_shared<spdlog::logger>("cronkit", of.sinks().begin(), of.sinks().end());
  logger->set_level(of.level());
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace

std::string setup_logging(const std::string& format, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return "unknown log level '" + level + "' (trace, debug, info, warn, error, off)";
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  if (format == "json") {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else if (format == "text") {
    sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc));
  } else {
    return "unknown log format '" + format + "' (text or json)";
  }
  // 8,192 lines queued at most; a writer that falls further behind makes callers wait
  // rather than lose lines.
  writer = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  queueing = std::make_shared<spdlog::async_logger>("cronkit", std::move(sink), writer,
                                                    spdlog::async_overflow_policy::block);
  queueing->set_level(lvl);
  queueing->flush_on(spdlog::level::trace);  // each line reaches stderr once written
  spdlog::set_default_logger(queueing);
  return {};
}

void finish_logging() {
  if (!writer) return;
  // Later lines are written at once; the writer thread writes what is queued, then ends.
  spdlog::set_default_logger(synchronous_copy(*queueing));
  writer.reset();
  queueing.reset();
}

}  // namespace cronkit::app
