// The transports a program can use: one per address scheme its plugin directories provide, all
// created at start-up.
//
// Which plugin code runs is decided here, once, by the operator's plugin directories and
// configuration. An address that arrives later (the backend a client's token names) can only
// pick one of these; it never causes a plugin to be loaded.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "plugin/loader.hpp"

namespace quictun::plugin {

class TransportSet {
 public:
  // Loads every transport plugin the directories provide and creates its transport with the
  // configuration's [transport.<scheme>] table. Throws UsageError naming the plugin that fails.
  TransportSet(PluginLoader& loader, const config::CommonSettings& settings);

  // The transport for "scheme:rest", or nullptr when the address has no scheme or no loaded
  // transport serves it (unserved_reason says which).
  sdk::Transport* find(const std::string& address) const;
  // Why find(address) gives nullptr, in words for a log line or an error message.
  std::string unserved_reason(const std::string& address) const;
  // find(), throwing UsageError with unserved_reason() instead of giving nullptr.
  sdk::Transport& for_address(const std::string& address) const;
  // The schemes served, sorted.
  std::vector<std::string> schemes() const;

  static std::string scheme_of(const std::string& address);  // lower-case text before the first ':'

 private:
  std::vector<std::string> dirs_;  // the plugin directories searched, for error messages
  std::map<std::string, std::shared_ptr<sdk::Transport>> by_scheme_;  // normalize_name(scheme) -> transport
};

}  // namespace quictun::plugin
