// One option, declared once: where it sits in quictun.toml, which flag sets it, what values it
// takes and where it stores them. The TOML reader and the command line both read from these
// declarations, so a value is checked, and a mistake worded, the same way in both places.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <quictun/sdk/config.hpp>

namespace quictun::config {

enum class Kind {
  text,       // a TOML string; any flag text
  path,       // text; in the file, relative to the file's folder
  path_list,  // a TOML array of paths; a flag given once per path
  text_list,  // a TOML array of strings; a flag given once per item
  boolean,    // TOML true/false; the flag takes on/off, true/false, yes/no, 1/0
  flag,       // boolean whose flag stands alone or takes =true / True (quic-tun's switches)
  integer,    // a whole number in [min, max]
  fraction,   // a number in [0, 1)
  table,      // a TOML table handed to a plugin as it is; no flag
  nested,     // a key the caller reads itself ([[client.listener]]); declared so it is known
};

// What the file or the command line said, already checked against its OptionSpec.
struct Value {
  std::string text;               // text, path (a path from the file is resolved)
  std::vector<std::string> list;  // path_list, text_list
  std::vector<std::string> list_origins;  // text_list: where each item was given ("quictun.toml:7", "--allow")
  bool yes = false;               // boolean, flag
  std::uint64_t number = 0;       // integer
  double fraction = 0;            // fraction
  sdk::ConfigTable table;         // table
  std::string origin;             // "quictun.toml:12" or "--connect-timeout-ms"
};

struct OptionSpec {
  const char* section = nullptr;  // TOML table, e.g. "quic" or "client.listener"; nullptr: flag only
  const char* key = nullptr;      // key in that table; nullptr: flag only
  const char* flag = nullptr;     // CLI11 names, e.g. "--listen-on"; nullptr: file only
  Kind kind = Kind::text;
  std::uint64_t min = 0;          // integer: smallest value accepted
  std::uint64_t max = UINT64_MAX; // integer: largest value accepted
  const char* help = "";          // --help text of the flag

  // The key, or the flag without dashes: how one source's given options are looked up.
  std::string name() const;
  // The long flag, e.g. "--config" for "-c,--config": how command-line values name their origin.
  std::string long_flag() const;
  // "must be between 1 and 3600000" or "must be in [0, 1)": one wording for both sources.
  std::string range_text() const;
  // Whether a number read from either source is within the range.
  bool in_range(std::uint64_t v) const { return v >= min && v <= max; }
  static bool in_fraction_range(double v) { return v >= 0 && v < 1; }  // false for NaN too
};

// A declaration together with what it sets in a T (CommonSettings, ServerSettings, ...).
template <class T>
struct Option {
  OptionSpec spec;
  std::function<void(T&, const Value&)> store;  // nullptr for Kind::nested
};

// A declaration bound to one settings object, so readers need not know its type.
struct BoundOption {
  const OptionSpec* spec;
  std::function<void(const Value&)> store;  // empty for Kind::nested
};
using BoundOptions = std::vector<BoundOption>;

// Binds the options of `table` to `target`; with `section`, only those the file holds in it.
template <class T, class Target>
void bind(BoundOptions& out, const std::vector<Option<T>>& table, Target& target, const char* section = nullptr) {
  for (const Option<T>& o : table) {
    if (section && !(o.spec.section && o.spec.key && std::string(section) == o.spec.section)) continue;
    if (!o.store) out.push_back({&o.spec, nullptr});  // nested: known, read by the caller
    else out.push_back({&o.spec, [&o, &target](const Value& v) { o.store(target, v); }});
  }
}

// Which options one source (the file, or the command line) gave, by OptionSpec::name(), with
// where it gave them.
using Given = std::map<std::string, std::string>;

// Section names in the order first declared, skipping ones already in `out`.
template <class T>
void append_sections(std::vector<std::string>& out, const std::vector<Option<T>>& table) {
  for (const Option<T>& o : table) {
    if (!o.spec.section) continue;
    std::string top = o.spec.section;
    top = top.substr(0, top.find('.'));
    bool seen = false;
    for (const auto& s : out) seen |= s == top;
    if (!seen) out.push_back(top);
  }
}

}  // namespace quictun::config
