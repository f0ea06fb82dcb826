#include "app/config_file.h"

#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string_view>

namespace cronkit::app {
namespace {

// Keys that name no setting of the server: --help, --config and --print-config.
bool is_setting(const CLI::Option& o) {
  static const std::set<std::string, std::less<>> kNot{"help", "config", "print-config"};
  return o.nonpositional() && !o.get_lnames().empty() && !kNot.contains(o.get_lnames().front());
}

// The line of the file (counted from 1) where `key` is set: CLI11's reader does not say,
// and an error is found faster with it. 0 if not found (a key written in a way this does not
// recognise: the message still names the key).
int line_of(const std::filesystem::path& file, std::string_view key) {
  std::ifstream in{file};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string_view text = line;
    text.remove_prefix(std::min(text.find_first_not_of(" \t"), text.size()));
    for (std::string_view quote : {"\"", "'"}) {
      if (text.starts_with(quote) && text.substr(1).starts_with(key) &&
          text.substr(1 + key.size()).starts_with(quote)) {
        text = text.substr(2 + key.size());
        text.remove_prefix(std::min(text.find_first_not_of(" \t"), text.size()));
        if (text.starts_with('=')) return n;
      }
    }
    if (!text.starts_with(key)) continue;
    text.remove_prefix(key.size());
    text.remove_prefix(std::min(text.find_first_not_of(" \t"), text.size()));
    if (text.empty() || text.starts_with('=')) return n;
  }
  return 0;
}

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

}  // namespace

std::filesystem::path config_to_read(const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  if (std::filesystem::exists(kDefaultConfigFile, ec)) return kDefaultConfigFile;
  return {};
}

void add_config_option(CLI::App& command, std::string& path) {
  command
      .add_option("--config", path,
                  std::string("A TOML file of settings (key = value, each key an option's long "
                              "name); default: ") +
                      kDefaultConfigFile +
                      " if it exists. The command line and the environment "
                      "take precedence over it")
      ->envname("CRONKIT_CONFIG");
}

void apply_config_file(CLI::App& command, const std::filesystem::path& file, UnknownKeys unknown) {
  std::ifstream in{file};
  if (!in) throw ConfigFileError(file.string() + ": cannot be read");
  const std::vector<CLI::ConfigItem> items = CLI::ConfigTOML{}.from_config(in);
  auto fail = [&](const std::string& key, const std::string& why) {
    const int line = line_of(file, key);
    throw ConfigFileError(file.string() + (line > 0 ? ":" + std::to_string(line) : "") +
                          ": key \"" + key + "\": " + why);
  };
  for (const auto& item : items) {
    if (!item.parents.empty()) {
      const std::string section = item.parents.front();
      throw ConfigFileError(file.string() + ": [" + section +
                            "]: sections are not used; every key is at the top of the file");
    }
    CLI::Option* option = command.get_option_no_throw("--" + item.name);
    if (option == nullptr || !is_setting(*option)) {
      if (unknown == UnknownKeys::kIgnored) continue;
      fail(item.name, "unknown key (the keys are the long names of `cronkit " + command.get_name() +
                          "`'s options, as in " + item.name + " = ...; see --help)");
    }
    // CLI11's reader takes a # inside a quoted value as the start of a comment, and leaves
    // the value with one quote: refused rather than cut short.
    for (const auto& input : item.inputs) {
      const bool one_quote = !input.empty() && (input.front() == '"' || input.front() == '\'' ||
                                                input.back() == '"' || input.back() == '\'');
      if (one_quote) fail(item.name, "a quoted value must end on its line and not contain #");
    }
    if (option->get_items_expected_max() <= 1 && item.inputs.size() > 1) {
      fail(item.name, "takes one value, not a list");
    }
    if (item.inputs.empty() && option->get_items_expected_max() <= 1) {
      fail(item.name, "needs a value, not an empty list");
    }
    if (option->count() > 0) continue;  // given on the command line or in the environment
    if (item.inputs.empty()) continue;  // an empty list: what a list option starts with
    option->add_result(item.inputs);
    try {
      option->run_callback();
    } catch (const CLI::Error& e) {
      fail(item.name, e.what());
    }
  }
}

bool read_config_file(CLI::App& command, const std::string& given, UnknownKeys unknown) {
  const auto file = config_to_read(given);
  if (file.empty()) return true;
  try {
    apply_config_file(command, file, unknown);
    return true;
  } catch (const ConfigFileError& e) {
    std::cerr << "cronkit: " << e.what() << "\n";
    return false;
  }
}

std::string effective_config(
    const CLI::App& command,
    const std::function<std::string(const std::string& key, const std::string& value)>& shown) {
  std::ostringstream out;
  for (const CLI::Option* option : command.get_options()) {
    if (!is_setting(*option) || option->get_group().empty()) continue;
    const std::string& key = option->get_lnames().front();
    out << key << " = ";
    if (option->get_expected_max() == 0) {  // a flag
      out << ((option->count() > 0 ? option->as<bool>() : option->get_default_str() == "true")
                  ? "true"
                  : "false");
    } else if (option->get_items_expected_max() > 1) {
      out << '[';
      const auto values =
          option->count() > 0 ? option->as<std::vector<std::string>>() : std::vector<std::string>{};
      for (std::size_t i = 0; i < values.size(); ++i)
        out << (i > 0 ? ", " : "") << toml_string(shown(key, values[i]));
      out << ']';
    } else {
      const std::string value =
          option->count() > 0 ? option->as<std::string>() : option->get_default_str();
      const std::string type = option->get_type_name();
      if (type.starts_with("INT") || type.starts_with("UINT")) {
        out << value;
      } else {
        out << toml_string(shown(key, value));
      }
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace cronkit::app
