#include "plugin/transport_set.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace quictun::plugin {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

TransportSet::TransportSet(PluginLoader& loader, const config::CommonSettings& settings) {
  for (const auto& dir : loader.dirs()) dirs_.push_back(dir.string());
  for (const auto& scheme : loader.available(Kind::transport))
    by_scheme_[normalize_name(scheme)] = loader.transport(scheme, settings.plugin_config("transport." + scheme, {}, {}));
}

std::string TransportSet::scheme_of(const std::string& address) {
  auto colon = address.find(':');
  if (colon == std::string::npos || colon == 0) return {};
  std::string s = address.substr(0, colon);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

sdk::Transport* TransportSet::find(const std::string& address) const {
  std::string scheme = scheme_of(address);
  if (scheme.empty()) return nullptr;
  auto it = by_scheme_.find(normalize_name(scheme));
  return it == by_scheme_.end() ? nullptr : it->second.get();
}

std::string TransportSet::unserved_reason(const std::string& address) const {
  std::string scheme = scheme_of(address);
  if (scheme.empty()) return "address \"" + address + "\" has no scheme (write tcp:HOST:PORT or unix:PATH)";
  return "no transport serves scheme \"" + scheme + "\" (available: " + join(schemes()) + "; plugin dirs: " +
         join(dirs_) + ")";
}

sdk::Transport& TransportSet::for_address(const std::string& address) const {
  if (sdk::Transport* t = find(address)) return *t;
  throw UsageError(unserved_reason(address));
}

std::vector<std::string> TransportSet::schemes() const {
  std::vector<std::string> out;
  for (const auto& [scheme, transport] : by_scheme_) {
    std::string shown = scheme;  // names are kept with '_'; users type '-'
    std::replace(shown.begin(), shown.end(), '_', '-');
    out.push_back(shown);
  }
  return out;
}

}  // namespace quictun::plugin
