#include "cronkit/registry.h"

#include <mutex>
#include <stdexcept>

namespace cronkit {

void Registry::add(std::string name, TaskFunction fn) {
  if (name.empty()) throw std::invalid_argument("Registry: function name must not be empty");
  if (!fn) throw std::invalid_argument("Registry: function '" + name + "' is empty");
  std::unique_lock lock{mutex_};
  functions_[std::move(name)] = std::move(fn);
}

TaskFunction Registry::find(std::string_view name) const {
  std::shared_lock lock{mutex_};
  auto it = functions_.find(name);
  return it == functions_.end() ? TaskFunction{} : it->second;
}

bool Registry::contains(std::string_view name) const {
  std::shared_lock lock{mutex_};
  return functions_.find(name) != functions_.end();
}

std::vector<std::string> Registry::names() const {
  std::shared_lock lock{mutex_};
  std::vector<std::string> out;
  out.reserve(functions_.size());
  for (const auto& [name, fn] : functions_)
    out.push_back(name);
  return out;
}

}  // namespace cronkit
