// The transports a program uses, created on first use of each address scheme.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "config/settings.hpp"
#include "plugin/loader.hpp"

namespace quictun::plugin {

class TransportSet {
 public:
  TransportSet(PluginLoader& loader, const config::CommonSettings& settings) : loader_(loader), settings_(settings) {}

  // The transport for "scheme:rest". Throws UsageError for an address without a scheme or a
  // scheme no plugin serves.
  sdk::Transport& for_address(const std::string& address);
  static std::string scheme_of(const std::string& address);  // lower-case text before the first ':'

 private:
  PluginLoader& loader_;
  const config::CommonSettings& settings_;
  std::map<std::string, std::shared_ptr<sdk::Transport>> by_scheme_;
};

}  // namespace quictun::plugin
