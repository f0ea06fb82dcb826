#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

namespace cronkit::app {

/// The file read when neither --config nor CRONKIT_CONFIG names one, if it exists.
inline constexpr const char* kDefaultConfigFile = "/etc/cronkit/cronkit.toml";

/// A config file that cannot be used: "FILE:LINE: key \"port\": the reason".
class ConfigFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The file to read: `given` (--config or CRONKIT_CONFIG) if set, else kDefaultConfigFile if
/// it exists, else none (empty).
std::filesystem::path config_to_read(const std::string& given);

/// Adds --config (and CRONKIT_CONFIG) to `command`, into `path`.
void add_config_option(CLI::App& command, std::string& path);

enum class UnknownKeys { kRefused, kIgnored };

/// Gives `command`'s options the values a TOML file sets (read by CLI11's reader): each key
/// is an option's long name (`max-concurrency = 20`), at the top of the file. A value given
/// on the command line or in the option's environment variable is kept: command line >
/// environment > file > default. Call it once the command line is parsed, before the
/// options are used. Throws ConfigFileError for a file that cannot be read, a section, an
/// unknown key (unless ignored) or a value the option refuses, naming the key and its line.
void apply_config_file(CLI::App& command, const std::filesystem::path& file,
                       UnknownKeys unknown = UnknownKeys::kRefused);

/// apply_config_file() on the file config_to_read(given) names, if any; a file that cannot
/// be used is reported on standard error ("cronkit: FILE:LINE: ...") and returns false.
bool read_config_file(CLI::App& command, const std::string& given,
                      UnknownKeys unknown = UnknownKeys::kRefused);

/// The options' values as a config file would set them, one `key = value` per line, each
/// string value passed through `shown(key, value)` first (to mask secrets). Hidden options
/// (those of no group), --config and --print-config are left out.
std::string effective_config(
    const CLI::App& command,
    const std::function<std::string(const std::string& key, const std::string& value)>& shown);

}  // namespace cronkit::app
