#include "config/toml_reader.hpp"

#include <sstream>

#include "util/error.hpp"

namespace quictun::config {
namespace fs = std::filesystem;

void TomlReader::only_keys(const toml::table& t, const std::string& section, const std::vector<std::string>& known) const {
  for (auto&& [k, v] : t) {
    bool ok = false;
    for (const auto& name : known) ok |= k.str() == name;
    if (ok) continue;
    std::string list;
    for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
    throw UsageError(where(k) + ": unknown key '" + std::string(k.str()) + "' in [" + section + "] (known: " + list + ")");
  }
}

const toml::table* TomlReader::table(const toml::table& parent, const char* key) const {
  const toml::node* n = parent.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) fail(*n, std::string("'") + key + "' must be a table");
  return n->as_table();
}

Given TomlReader::read(const toml::table& t, const std::string& section, const BoundOptions& options) const {
  std::vector<std::string> known;
  for (const BoundOption& o : options)
    if (o.spec->key) known.emplace_back(o.spec->key);
  only_keys(t, section, known);
  Given given;
  for (const BoundOption& o : options) {
    if (!o.spec->key || !o.store) continue;
    const toml::node* n = t.get(o.spec->key);
    if (!n) continue;
    Value v = value_of(*n, *o.spec);
    given[o.spec->name()] = v.origin;
    o.store(v);
  }
  return given;
}

Value TomlReader::value_of(const toml::node& n, const OptionSpec& spec) const {
  const std::string key = std::string("'") + spec.key + "'";
  Value v;
  v.origin = where(n);
  switch (spec.kind) {
    case Kind::text:
    case Kind::path:
      if (!n.is_string()) fail(n, key + " must be a string");
      v.text = n.as_string()->get();
      if (spec.kind == Kind::path && !v.text.empty() && fs::path(v.text).is_relative()) v.text = (base_dir_ / v.text).string();
      break;
    case Kind::path_list:
      if (!n.is_array()) fail(n, key + " must be an array of paths");
      for (const auto& e : *n.as_array()) {
        if (!e.is_string()) fail(e, key + " must be an array of paths");
        fs::path p(e.as_string()->get());
        v.list.push_back((p.is_absolute() ? p : base_dir_ / p).string());
      }
      break;
    case Kind::text_list:
      if (!n.is_array()) fail(n, key + " must be an array of strings");
      for (const auto& e : *n.as_array()) {
        if (!e.is_string()) fail(e, key + " must be an array of strings");
        v.list.push_back(e.as_string()->get());
        v.list_origins.push_back(where(e));
      }
      break;
    case Kind::boolean:
    case Kind::flag:
      if (!n.is_boolean()) fail(n, key + " must be true or false");
      v.yes = n.as_boolean()->get();
      break;
    case Kind::integer: {
      if (!n.is_integer()) fail(n, key + " must be an integer");
      const std::int64_t i = n.as_integer()->get();
      if (i < 0 || !spec.in_range(static_cast<std::uint64_t>(i))) fail(n, key + " " + spec.range_text());
      v.number = static_cast<std::uint64_t>(i);
      break;
    }
    case Kind::fraction:
      if (n.is_integer()) v.fraction = static_cast<double>(n.as_integer()->get());
      else if (n.is_floating_point()) v.fraction = n.as_floating_point()->get();
      else fail(n, key + " must be a number");
      if (!OptionSpec::in_fraction_range(v.fraction)) fail(n, key + " " + spec.range_text());
      break;
    case Kind::table:
      if (!n.is_table()) fail(n, key + " must be a table");
      v.table = table_value(*n.as_table());
      break;
    case Kind::nested:
      break;  // bind() leaves these out; the caller reads them
  }
  return v;
}

sdk::ConfigValue TomlReader::plugin_value(const toml::node& n) const {
  std::string origin = where(n);
  if (n.is_string()) return {n.as_string()->get(), origin};
  if (n.is_integer()) return {n.as_integer()->get(), origin};
  if (n.is_floating_point()) return {n.as_floating_point()->get(), origin};
  if (n.is_boolean()) return {n.as_boolean()->get(), origin};
  if (n.is_array()) {
    sdk::ConfigArray a;
    for (const auto& e : *n.as_array()) a.push_back(plugin_value(e));
    return {std::move(a), origin};
  }
  if (n.is_table()) return {table_value(*n.as_table()), origin};
  fail(n, "dates and times are not supported in plugin tables");
}

sdk::ConfigTable TomlReader::table_value(const toml::table& t) const {
  sdk::ConfigTable out;
  for (auto&& [k, v] : t) out[std::string(k.str())] = plugin_value(v);
  return out;
}

toml::table parse_toml(const std::string& file) {
  try {
    return toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << file << ":" << e.source().begin.line << ": " << e.description();
    throw UsageError(msg.str());
  } catch (const std::exception& e) {
    throw UsageError(file + ": " + e.what());
  }
}

}  // namespace quictun::config
