#include "plugin/transport_set.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace quictun::plugin {

std::string TransportSet::scheme_of(const std::string& address) {
  auto colon = address.find(':');
  if (colon == std::string::npos || colon == 0) return {};
  std::string s = address.substr(0, colon);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

sdk::Transport& TransportSet::for_address(const std::string& address) {
  std::string scheme = scheme_of(address);
  if (scheme.empty())
    throw UsageError("address \"" + address + "\" has no scheme (write tcp:HOST:PORT or unix:PATH)");
  auto it = by_scheme_.find(scheme);
  if (it != by_scheme_.end()) return *it->second;
  auto transport = loader_.transport(scheme, settings_.plugin_config("transport." + scheme, {}, {}));
  auto& ref = *transport;
  by_scheme_[scheme] = std::move(transport);
  return ref;
}

}  // namespace quictun::plugin
