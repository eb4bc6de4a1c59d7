// quictun.toml: typed reads that report file:line, driven by the option tables.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/option.hpp"
#include "util/error.hpp"

namespace quictun::config {

class TomlReader {
 public:
  // `base_dir`: relative paths in the file resolve against it.
  TomlReader(std::string file, std::filesystem::path base_dir) : file_(std::move(file)), base_dir_(std::move(base_dir)) {}

  std::string where(const toml::node& n) const { return file_ + ":" + std::to_string(n.source().begin.line); }
  std::string where(const toml::key& k) const { return file_ + ":" + std::to_string(k.source().begin.line); }
  [[noreturn]] void fail(const toml::node& n, const std::string& what) const { throw UsageError(where(n) + ": " + what); }

  // Refuses a key not in `known`, listing them.
  void only_keys(const toml::table& t, const std::string& section, const std::vector<std::string>& known) const;

  // parent.key as a table, or nullptr when absent.
  const toml::table* table(const toml::table& parent, const char* key) const;

  // Reads the options bound for table `t` (bind() with its section) and stores those present.
  // Refuses a key none of them declares, listing theirs; `section` names `t` in that message.
  Given read(const toml::table& t, const std::string& section, const BoundOptions& options) const;

  // A plugin table, as the SDK hands it to the plugin.
  sdk::ConfigTable table_value(const toml::table& t) const;

 private:
  Value value_of(const toml::node& n, const OptionSpec& spec) const;
  sdk::ConfigValue plugin_value(const toml::node& n) const;

  std::string file_;
  std::filesystem::path base_dir_;
};

// Parses the file; a syntax error becomes UsageError "file:line: ...".
toml::table parse_toml(const std::string& file);

}  // namespace quictun::config
