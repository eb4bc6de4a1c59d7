#include "file_format.hpp"

#include <cctype>
#include <cstdio>
#include <set>

namespace quictun::token_file {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

constexpr std::int64_t default_reload_ms = 1000;
// Below this the stat() polling starts to cost more than it saves; above a day it is a typo.
constexpr std::int64_t min_reload_ms = 10;
constexpr std::int64_t max_reload_ms = 24 * 3600 * 1000;

}  // namespace

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size() || line[i] == '#') break;
    std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

void for_each_line(std::string_view text,
                   const std::function<void(std::size_t, const std::vector<std::string_view>&)>& on_line) {
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    auto fields = split_fields(line);
    if (!fields.empty()) on_line(number, fields);
  }
}

sdk::Error line_error(const std::string& file, std::size_t line, const std::string& what) {
  return sdk::Error(file + ":" + std::to_string(line) + ": " + what);
}

std::string token_problem(std::string_view token) {
  if (token.empty()) return "empty token";
  if (token.size() > sdk::max_token_bytes)
    return "token is " + std::to_string(token.size()) + " bytes; at most " + std::to_string(sdk::max_token_bytes) +
           " fit in the stream header";
  if (token.find('\0') != std::string_view::npos) return "token contains a NUL byte";
  return {};
}

FileOptions read_file_options(const sdk::PluginConfig& config, const std::string& what, const std::string& flag) {
  static const std::set<std::string> known = {"path", "reload_interval_ms", "argument"};
  for (const auto& [key, value] : config.table) {
    if (!known.count(key)) throw config.error(key, "is not a setting of " + what + " (known: path, reload_interval_ms)");
  }

  FileOptions options;
  if (!config.argument.empty()) {
    // A command-line path means the working directory; one written in the config file means
    // the config file's folder, like every other path there.
    std::filesystem::path p(config.argument);
    options.path = config.argument_origin.rfind("--", 0) == 0 ? p : config.resolve_path(config.argument);
  } else if (auto path = config.get_string("path")) {
    if (path->empty()) throw config.error("path", "must not be empty");
    options.path = config.resolve_path(*path);
  } else {
    throw sdk::Error(what + " needs a file: pass " + flag + " PATH or set 'path' in its table");
  }
  options.path = std::filesystem::absolute(options.path).lexically_normal();

  std::int64_t reload = config.get_int("reload_interval_ms").value_or(default_reload_ms);
  if (reload != 0 && (reload < min_reload_ms || reload > max_reload_ms))
    throw config.error("reload_interval_ms", "must be 0 (never reload) or between " + std::to_string(min_reload_ms) +
                                                 " and " + std::to_string(max_reload_ms));
  options.reload_interval = std::chrono::milliseconds(reload);
  return options;
}

}  // namespace quictun::token_file
