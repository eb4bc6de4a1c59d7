#include "config/flat_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "config/values.hpp"
#include "util/error.hpp"

namespace quictun::config {
namespace fs = std::filesystem;
namespace {

std::string extension(const std::string& path) { return lower(fs::path(path).extension().string()); }

std::string at_line(const std::string& file, std::size_t line) { return file + ":" + std::to_string(line); }

// ---- YAML -----------------------------------------------------------------------------------

std::vector<FlatEntry> parse_yaml(const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::ParserException& e) {
    throw UsageError(at_line(file, static_cast<std::size_t>(e.mark.line) + 1) + ": malformed YAML: " + e.msg);
  } catch (const YAML::BadFile&) {
    throw UsageError(file + ": cannot read the configuration file");
  }
  std::vector<FlatEntry> out;
  if (root.IsNull()) return out;  // an empty file sets nothing
  if (!root.IsMap())
    throw UsageError(at_line(file, static_cast<std::size_t>(root.Mark().line) + 1) +
                     ": a quic-tun configuration is a map of flag names to values (listen-on: ...)");
  std::set<std::string> seen;
  for (const auto& kv : root) {
    const YAML::Node& k = kv.first;
    const YAML::Node& v = kv.second;
    FlatEntry e;
    e.origin = at_line(file, static_cast<std::size_t>(k.Mark().line) + 1);
    if (!k.IsScalar()) throw UsageError(e.origin + ": a key must be a plain name (listen-on)");
    e.key = k.Scalar();
    if (!seen.insert(e.key).second) throw UsageError(e.origin + ": duplicate key '" + e.key + "'");
    if (v.IsNull()) continue;
    if (v.IsScalar()) {
      e.text = v.Scalar();
    } else if (v.IsSequence()) {
      e.type = FlatEntry::Type::list;
      for (const auto& item : v) {
        if (!item.IsScalar())
          throw UsageError(at_line(file, static_cast<std::size_t>(item.Mark().line) + 1) + ": '" + e.key +
                           "' must be a list of plain values");
        e.items.push_back(item.Scalar());
      }
    } else {
      e.type = FlatEntry::Type::map;
    }
    out.push_back(std::move(e));
  }
  return out;
}

// ---- JSON -----------------------------------------------------------------------------------

// The line of every key of the top-level object, in order: nlohmann's parser keeps no
// positions, so a small scanner walks the (already validated) text for strings followed by ':'
// at depth one.
std::vector<std::pair<std::string, std::size_t>> top_level_key_lines(const std::string& text) {
  std::vector<std::pair<std::string, std::size_t>> out;
  std::size_t line = 1;
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
    else if (c == '"') {
      const std::size_t start = i, start_line = line;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;  // \" and \\ do not end the string
        else if (text[i] == '\n') ++line;
      }
      if (depth != 1) continue;
      std::size_t j = i + 1;
      while (j < text.size() && std::isspace(static_cast<unsigned char>(text[j]))) ++j;
      if (j < text.size() && text[j] == ':') {
        // Decode escapes the way the parser did, so "listen\u002don" finds its line too.
        auto key = nlohmann::json::parse(text.substr(start, i - start + 1)).get<std::string>();
        out.emplace_back(std::move(key), start_line);
      }
    }
  }
  return out;
}

std::vector<FlatEntry> parse_json(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw UsageError(file + ": cannot read the configuration file");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points at the offending character.
    const std::size_t upto = std::min<std::size_t>(e.byte ? e.byte - 1 : 0, text.size());
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(upto), '\n'));
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 1: syntax error ..."
    if (auto colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    throw UsageError(at_line(file, line) + ": malformed JSON: " + what);
  }
  if (!root.is_object()) throw UsageError(at_line(file, 1) + ": a quic-tun configuration is a JSON object of flag names to values");
  std::map<std::string, std::size_t> lines;
  for (auto& [key, line] : top_level_key_lines(text)) {
    if (lines.count(key)) throw UsageError(at_line(file, line) + ": duplicate key '" + key + "'");
    lines[key] = line;
  }
  std::vector<FlatEntry> out;
  for (const auto& [key, v] : root.items()) {
    FlatEntry e;
    e.key = key;
    auto l = lines.find(key);
    e.origin = l == lines.end() ? file : at_line(file, l->second);
    if (v.is_null()) continue;
    if (v.is_string()) {
      e.text = v.get<std::string>();
    } else if (v.is_boolean()) {
      e.type = FlatEntry::Type::boolean;
      e.text = v.get<bool>() ? "true" : "false";
    } else if (v.is_number()) {
      e.type = FlatEntry::Type::number;
      e.text = v.dump();
    } else if (v.is_array()) {
      e.type = FlatEntry::Type::list;
      for (const auto& item : v) {
        if (!item.is_string()) throw UsageError(e.origin + ": '" + key + "' must be a list of strings");
        e.items.push_back(item.get<std::string>());
      }
    } else {
      e.type = FlatEntry::Type::map;
    }
    out.push_back(std::move(e));
  }
  // The parser orders keys by name; keep the file's order so errors come in reading order.
  std::stable_sort(out.begin(), out.end(), [&](const FlatEntry& a, const FlatEntry& b) { return lines[a.key] < lines[b.key]; });
  return out;
}

// ---- entries to options ----------------------------------------------------------------------

Value value_of(const FlatEntry& e, const OptionSpec& spec, const fs::path& base_dir) {
  using T = FlatEntry::Type;
  const std::string key = "'" + e.key + "'";
  auto fail = [&](const std::string& what) -> Value { throw UsageError(e.origin + ": " + key + " " + what); };
  auto scalar = [&](const char* what) {
    if (e.type == T::list || e.type == T::map) fail(std::string("must be ") + what);
  };
  Value v;
  v.origin = e.origin;
  switch (spec.kind) {
    case Kind::text:
    case Kind::path:
      if (e.type != T::scalar) return fail("must be a string");
      v.text = e.text;
      if (spec.kind == Kind::path && !v.text.empty() && fs::path(v.text).is_relative()) v.text = (base_dir / v.text).string();
      break;
    case Kind::path_list:
    case Kind::text_list: {
      if (e.type == T::map || e.type == T::boolean || e.type == T::number) return fail("must be a string or a list of strings");
      std::vector<std::string> items = e.type == T::list ? e.items : std::vector<std::string>{e.text};
      for (auto& item : items)
        if (spec.kind == Kind::path_list && fs::path(item).is_relative()) item = (base_dir / item).string();
      v.list = std::move(items);
      break;
    }
    case Kind::boolean:
    case Kind::flag:
      scalar("true or false");
      if (e.type == T::number) return fail("must be true or false");
      v.yes = parse_on_off(e.text, e.origin + ": " + key);
      break;
    case Kind::integer:
      scalar("a whole number");
      if (e.type == T::boolean) return fail("must be a whole number");
      if (!parse_decimal(e.text, v.number) || !spec.in_range(v.number))
        return fail(spec.range_text() + ", got \"" + e.text + "\"");
      break;
    case Kind::fraction:
      scalar("a number");
      if (e.type == T::boolean) return fail("must be a number");
      if (!parse_real(e.text, v.fraction) || !OptionSpec::in_fraction_range(v.fraction))
        return fail(spec.range_text() + ", got \"" + e.text + "\"");
      break;
    case Kind::table:
    case Kind::nested:
      break;  // no flag, so never a flat key
  }
  return v;
}

}  // namespace

bool is_flat_config(const std::string& path) {
  const std::string ext = extension(path);
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

std::vector<FlatEntry> parse_flat_file(const std::string& path) {
  return extension(path) == ".json" ? parse_json(path) : parse_yaml(path);
}

Given read_flat(const std::vector<FlatEntry>& entries, const BoundOptions& options, const fs::path& base_dir) {
  std::map<std::string, const BoundOption*> by_key;
  for (const BoundOption& o : options)
    if (o.spec->flag && o.store) by_key[o.spec->long_flag().substr(2)] = &o;
  Given given;
  for (const FlatEntry& e : entries) {
    auto it = by_key.find(e.key);
    if (it == by_key.end()) {
      std::string known;
      for (const auto& [k, o] : by_key) known += (known.empty() ? "" : ", ") + k;
      throw UsageError(e.origin + ": unknown key '" + e.key + "' (known: " + known + ")");
    }
    const BoundOption& o = *it->second;
    Value v = value_of(e, *o.spec, base_dir);
    given[o.spec->name()] = v.origin;
    o.store(v);
  }
  return given;
}

}  // namespace quictun::config
