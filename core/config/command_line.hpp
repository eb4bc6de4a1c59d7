// The command line: CLI11 flags declared from the option tables, in quic-tun's spellings too.
#pragma once

#include <list>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "config/option.hpp"

namespace quictun::config {

class CommandLine {
 public:
  CommandLine(const std::string& description, const std::string& program, const std::string& version);

  // Adds a flag for every option of `table` that has one.
  template <class T>
  void declare(const std::vector<Option<T>>& table) {
    for (const Option<T>& o : table)
      if (o.spec.flag) declare(o.spec);
  }

  // Parses argv. false after --help or --version (printed); CLI11's errors become UsageError.
  bool parse(int argc, char** argv);

  // -c / --config, which decides where the other options come from, so it is read first.
  std::optional<std::string> config_file() const;

  // Checks and stores every option of `options` given on the command line. Throws UsageError
  // naming the flag, e.g. `--connect-timeout-ms: must be between 1 and 3600000, got "10x"`.
  Given apply(const BoundOptions& options) const;

 private:
  struct Slot {  // what CLI11 writes one flag into
    const OptionSpec* spec = nullptr;
    CLI::Option* option = nullptr;
    std::string text;
    std::vector<std::string> list;
    bool yes = false;
  };
  void declare(const OptionSpec& spec);
  Value value_of(const Slot& slot) const;

  CLI::App app_;
  std::string config_;
  CLI::Option* config_option_ = nullptr;
  std::list<Slot> slots_;  // a list: CLI11 keeps pointers into each Slot
};

}  // namespace quictun::config
