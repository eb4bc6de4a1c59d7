// quic-tun's configuration files (`-c quictun-server.yaml`): one flat map from a flag's name
// without its dashes (`listen-on`) to its value, in YAML (.yaml, .yml) or JSON (.json). A key
// is exactly the command-line flag of that name in the option tables, so every flag, including
// ones added later, is a key with no further code; a key with no flag is an error.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/option.hpp"

namespace quictun::config {

// One key of the file, as written, before it is checked against an option.
struct FlatEntry {
  enum class Type {
    scalar,   // YAML scalar (untyped) or JSON string
    boolean,  // JSON true/false
    number,   // JSON number
    list,     // YAML sequence or JSON array of scalars
    map,      // YAML map or JSON object: never a valid value
  };
  std::string key;
  Type type = Type::scalar;
  std::string text;                // scalar, boolean ("true"/"false"), number (as written)
  std::vector<std::string> items;  // list
  std::string origin;              // "quictun-server.yaml:4" (JSON without a line: the file)
};

// Whether `path` names a quic-tun flat file (by extension, any case) rather than quictun.toml.
bool is_flat_config(const std::string& path);

// Reads the file. Syntax errors, a top level that is not a map, duplicate keys and nested
// values inside lists become UsageError "file:line: ...". Keys whose value is null are left out
// (quic-tun takes them as unset).
std::vector<FlatEntry> parse_flat_file(const std::string& path);

// Checks and stores each entry through the option whose long flag is "--" + key. `base_dir`
// resolves relative paths. Throws UsageError "file:line: ..." for a key no option has as a flag
// (listing them) or a value of the wrong type or range.
Given read_flat(const std::vector<FlatEntry>& entries, const BoundOptions& options, const std::filesystem::path& base_dir);

}  // namespace quictun::config
