#include "config/command_line.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <set>

#include "config/values.hpp"
#include "util/error.hpp"

namespace quictun::config {
namespace {

// quic-tun (Go) users type `-listen-on` and `--insecure-skip-verify True`; accept both forms.
std::vector<std::string> normalize_argv(int argc, char** argv, const std::set<std::string>& switches) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-' && a.find_first_of("-=", 1) != std::string::npos &&
        std::isalpha(static_cast<unsigned char>(a[1])) && a.find('-', 1) < a.find('=')) {
      a = "-" + a;  // -listen-on=x → --listen-on=x (Go's flag package takes one dash)
    }
    if (switches.count(a) && i + 1 < argc) {
      std::string next = lower(argv[i + 1]);
      if (next == "true" || next == "false" || next == "1" || next == "0" || next == "yes" || next == "no") {
        out.push_back(a + "=" + next);
        ++i;
        continue;
      }
    }
    out.push_back(a);
  }
  std::reverse(out.begin(), out.end());  // CLI11 takes arguments in reverse order
  return out;
}

}  // namespace

CommandLine::CommandLine(const std::string& description, const std::string& program, const std::string& version)
    : app_(description, program) {
  app_.set_version_flag("--version", version);
  config_option_ = app_.add_option("-c,--config", config_, "configuration file: quictun.toml, or quic-tun's .yaml/.yml/.json (flags override it)");
}

void CommandLine::declare(const OptionSpec& spec) {
  Slot& s = slots_.emplace_back();
  s.spec = &spec;
  switch (spec.kind) {
    case Kind::flag: s.option = app_.add_flag(spec.flag, s.yes, spec.help); break;
    case Kind::path_list:
    case Kind::text_list: s.option = app_.add_option(spec.flag, s.list, spec.help); break;
    default: s.option = app_.add_option(spec.flag, s.text, spec.help); break;
  }
  // CLI11 would call every one TEXT: its own number checks are not used, so that both sources
  // share OptionSpec's ranges and wording.
  if (spec.kind == Kind::integer) s.option->type_name("UINT");
  if (spec.kind == Kind::fraction) s.option->type_name("FRACTION");
  if (spec.kind == Kind::boolean) s.option->type_name("on|off");
}

bool CommandLine::parse(int argc, char** argv) {
  std::set<std::string> switches;
  for (const Slot& s : slots_)
    if (s.spec->kind == Kind::flag) switches.insert(s.spec->long_flag());
  std::vector<std::string> args = normalize_argv(argc, argv, switches);
  try {
    app_.parse(args);
  } catch (const CLI::CallForHelp&) {
    std::cout << app_.help();
    return false;
  } catch (const CLI::CallForVersion&) {
    std::cout << app_.version() << "\n";
    return false;
  } catch (const CLI::ParseError& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  return true;
}

std::optional<std::string> CommandLine::config_file() const {
  if (!config_option_->count()) return std::nullopt;
  return config_;
}

Given CommandLine::apply(const BoundOptions& options) const {
  Given given;
  for (const BoundOption& o : options) {
    auto slot = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.spec == o.spec; });
    if (slot == slots_.end() || !slot->option->count()) continue;
    Value v = value_of(*slot);
    given[o.spec->name()] = v.origin;
    o.store(v);
  }
  return given;
}

Value CommandLine::value_of(const Slot& slot) const {
  const OptionSpec& spec = *slot.spec;
  Value v;
  v.origin = spec.long_flag();
  auto refuse = [&] { throw UsageError(v.origin + ": " + spec.range_text() + ", got \"" + slot.text + "\""); };
  switch (spec.kind) {
    case Kind::text:
    case Kind::path: v.text = slot.text; break;
    case Kind::path_list:
      for (const auto& p : slot.list) v.list.push_back(std::filesystem::absolute(p).string());
      break;
    case Kind::text_list:
      v.list = slot.list;
      v.list_origins.assign(v.list.size(), v.origin);
      break;
    case Kind::boolean: v.yes = parse_on_off(slot.text, v.origin); break;
    case Kind::flag: v.yes = slot.yes; break;
    case Kind::integer:
      if (!parse_decimal(slot.text, v.number) || !spec.in_range(v.number)) refuse();
      break;
    case Kind::fraction:
      if (!parse_real(slot.text, v.fraction) || !OptionSpec::in_fraction_range(v.fraction)) refuse();
      break;
    case Kind::table:
    case Kind::nested: break;  // file only: declare() gives them no flag
  }
  return v;
}

}  // namespace quictun::config
