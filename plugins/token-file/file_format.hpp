// What the two token files have in common: line syntax, error messages and the plugin's options.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <quictun/sdk.hpp>

namespace quictun::token_file {

// The whitespace-separated fields of one line, without its comment. A comment starts at a '#'
// that begins a field, so a token may still contain '#' in its middle.
std::vector<std::string_view> split_fields(std::string_view line);

// Calls `on_line(line_number, fields)` for every line that has fields. Line numbers start at 1.
void for_each_line(std::string_view text,
                   const std::function<void(std::size_t, const std::vector<std::string_view>&)>& on_line);

// "path:line: what", the form every editor and CI log understands.
sdk::Error line_error(const std::string& file, std::size_t line, const std::string& what);


// Why a token is unusable on the wire, or "" when it is fine.
std::string token_problem(std::string_view token);

// Where the table lives and how often to look for changes.
struct FileOptions {
  std::filesystem::path path;               // absolute, so a later chdir cannot change its meaning
  std::chrono::milliseconds reload_interval;  // how often the file's identity is checked; 0 = never
};

// Reads `path` / `reload_interval_ms` (and the argument, which wins over `path`), rejecting
// unknown keys so a misspelt setting is not silently ignored. `what` names the plugin object in
// messages ("token source 'file'"), `flag` is the command-line option that sets the argument.
FileOptions read_file_options(const sdk::PluginConfig& config, const std::string& what, const std::string& flag);

}  // namespace quictun::token_file
