// quictun plugin SDK: the configuration a plugin receives.
//
// A plugin is configured by two things: its command-line argument (`--token-source`,
// `--token-parser-key`) and its TOML table (`[token_source.fixed]`, ...). The host parses the
// TOML and hands it over as these SDK-owned types, so plugins never depend on a TOML library.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "quictun/sdk/error.hpp"

namespace quictun::sdk {

class ConfigValue;
using ConfigArray = std::vector<ConfigValue>;
using ConfigTable = std::map<std::string, ConfigValue>;

// One value of a plugin's table, with the place it was written ("quictun.toml:12").
class ConfigValue {
 public:
  using Storage = std::variant<bool, std::int64_t, double, std::string, ConfigArray, ConfigTable>;

  ConfigValue() = default;
  ConfigValue(Storage value, std::string origin) : value_(std::move(value)), origin_(std::move(origin)) {}

  const Storage& value() const { return value_; }
  const std::string& origin() const { return origin_; }

  template <typename T>
  const T* get_if() const { return std::get_if<T>(&value_); }

 private:
  Storage value_{false};
  std::string origin_;  // "file:line" where the value was written
};

// Everything a plugin factory is given about its configuration.
class PluginConfig {
 public:
  std::string argument;         // the command-line / `argument` value; empty when not given
  std::string argument_origin;  // where `argument` came from ("--token-source", "quictun.toml:7")
  ConfigTable table;            // the plugin's own TOML table; empty when absent
  std::string table_origin;     // "quictun.toml:9" for the table header, or "" when absent
  std::filesystem::path base_dir;  // relative paths in the config are relative to this

  bool has(const std::string& key) const { return table.count(key) != 0; }

  // Typed accessors. A value of the wrong type throws an Error naming its place and key.
  std::optional<std::string> get_string(const std::string& key) const { return get<std::string>(key, "a string"); }
  std::optional<bool> get_bool(const std::string& key) const { return get<bool>(key, "a boolean"); }
  std::optional<std::int64_t> get_int(const std::string& key) const { return get<std::int64_t>(key, "an integer"); }

  std::optional<double> get_number(const std::string& key) const {
    auto it = table.find(key);
    if (it == table.end()) return std::nullopt;
    if (auto* i = it->second.get_if<std::int64_t>()) return static_cast<double>(*i);
    if (auto* d = it->second.get_if<double>()) return *d;
    throw error(key, "must be a number");
  }

  std::optional<std::vector<std::string>> get_strings(const std::string& key) const {
    auto it = table.find(key);
    if (it == table.end()) return std::nullopt;
    auto* array = it->second.get_if<ConfigArray>();
    if (!array) throw error(key, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& v : *array) {
      auto* s = v.get_if<std::string>();
      if (!s) throw error(key, "must be an array of strings");
      out.push_back(*s);
    }
    return out;
  }

  const ConfigTable* get_table(const std::string& key) const {
    auto it = table.find(key);
    if (it == table.end()) return nullptr;
    auto* t = it->second.get_if<ConfigTable>();
    if (!t) throw error(key, "must be a table");
    return t;
  }

  // A path from the config, made absolute against base_dir.
  std::filesystem::path resolve_path(const std::string& path) const {
    std::filesystem::path p(path);
    return p.is_absolute() || base_dir.empty() ? p : base_dir / p;
  }

  // An Error for key `key` that says where the key was written.
  Error error(const std::string& key, const std::string& what) const {
    auto it = table.find(key);
    std::string where = it != table.end() ? it->second.origin() : table_origin;
    return Error((where.empty() ? std::string() : where + ": ") + "'" + key + "' " + what);
  }

  // An Error about the command-line argument.
  Error argument_error(const std::string& what) const {
    return Error((argument_origin.empty() ? std::string() : argument_origin + ": ") + what);
  }

 private:
  template <typename T>
  std::optional<T> get(const std::string& key, const char* type_name) const {
    auto it = table.find(key);
    if (it == table.end()) return std::nullopt;
    if (auto* v = it->second.get_if<T>()) return *v;
    throw error(key, std::string("must be ") + type_name);
  }
};

}  // namespace quictun::sdk
