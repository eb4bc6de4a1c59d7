// quictun plugin SDK: the plugin descriptor and the macros that export it.
//
// A plugin is a shared object that exports, through Boost.DLL aliases:
//   - `quictun_plugin_abi`: the SDK ABI number it was built with, and `quictun_plugin_toolchain`:
//     the Toolchain it was built with (both checked before anything else);
//   - `quictun_plugin_descriptor`: a function returning its PluginDescriptor;
//   - one `quictun_provides__<kind>__<name>` marker per thing it provides, so the host can find
//     the file that provides, say, token source "fixed" by reading symbol names, without loading
//     every plugin in the directory.
//
//   QUICTUN_PLUGIN(describe)                       // once per plugin
//   QUICTUN_PLUGIN_PROVIDES(token_source, fixed)    // once per provided name
//   (kinds: token_source, token_parser, transport, congestion, classifier)
//
// Names are matched case-insensitively; a '-' in a name is written '_' in the marker.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/alias.hpp>

#include "quictun/sdk/classifier.hpp"
#include "quictun/sdk/config.hpp"
#include "quictun/sdk/congestion.hpp"
#include "quictun/sdk/host.hpp"
#include "quictun/sdk/token.hpp"
#include "quictun/sdk/transport.hpp"
#include "quictun/sdk/version.hpp"

namespace quictun::sdk {

// Factories validate their config once (throwing Error on anything wrong) and return an object
// the host keeps for the life of the program; per-connection work happens in its methods.
struct TokenSourceFactory {
  std::string name;  // what `--token-source-plugin` names, e.g. "fixed"
  std::string help;  // one line for `--help` and error messages
  std::function<std::unique_ptr<TokenSource>(const PluginConfig&, Host&)> create;
};

struct TokenParserFactory {
  std::string name;  // what `--token-parser-plugin` names, e.g. "cleartext"
  std::string help;
  std::function<std::unique_ptr<TokenParser>(const PluginConfig&, Host&)> create;
};

struct TransportFactory {
  std::vector<std::string> schemes;  // address schemes it serves: {"tcp", "tcp4", "tcp6"}
  std::string help;
  std::function<std::unique_ptr<Transport>(const PluginConfig&, Host&)> create;
};

struct CongestionControlFactory {
  std::string name;  // what `--congestion-control` names, e.g. "brutal"; settings in [congestion.<name>]
  std::string help;
  std::function<std::unique_ptr<CongestionControl>(const PluginConfig&, Host&)> create;
};

struct ClassifierFactory {
  std::string name;  // what `[plugins] classifiers` / `--classifier` names, e.g. "tls"; settings in [classifier.<name>]
  std::string help;
  std::function<std::unique_ptr<Classifier>(const PluginConfig&, Host&)> create;
};

struct PluginDescriptor {
  std::string name;         // unique plugin name, e.g. "token-fixed"
  std::string version;      // the plugin's own version
  std::string description;  // one line
  std::vector<TokenSourceFactory> token_sources;
  std::vector<TokenParserFactory> token_parsers;
  std::vector<TransportFactory> transports;
  std::vector<CongestionControlFactory> congestion_controls;
  std::vector<ClassifierFactory> classifiers;
};

namespace detail {
inline void provides_marker() {}
}  // namespace detail

}  // namespace quictun::sdk

#define QUICTUN_PLUGIN(describe_fn)                                                         \
  namespace {                                                                               \
  const ::std::uint32_t quictun_plugin_abi_value = ::quictun::sdk::abi_version;             \
  const ::quictun::sdk::Toolchain quictun_plugin_toolchain_value = ::quictun::sdk::toolchain; \
  const ::quictun::sdk::PluginDescriptor& quictun_plugin_descriptor_fn() {                  \
    static const ::quictun::sdk::PluginDescriptor descriptor = describe_fn();               \
    return descriptor;                                                                      \
  }                                                                                         \
  }                                                                                         \
  BOOST_DLL_ALIAS(quictun_plugin_abi_value, quictun_plugin_abi)                             \
  BOOST_DLL_ALIAS(quictun_plugin_toolchain_value, quictun_plugin_toolchain)                 \
  BOOST_DLL_ALIAS(quictun_plugin_descriptor_fn, quictun_plugin_descriptor)

#define QUICTUN_PLUGIN_PROVIDES(kind, name) \
  BOOST_DLL_ALIAS(::quictun::sdk::detail::provides_marker, quictun_provides__##kind##__##name)
