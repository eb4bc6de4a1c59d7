// classifier-tls: the "tls" traffic classifier (tls.hpp, client_hello.hpp).
#include <quictun/sdk.hpp>

#include "tls.hpp"

namespace {

using namespace quictun;

std::unique_ptr<sdk::Classifier> create(const sdk::PluginConfig& config, sdk::Host&) {
  for (const auto& [key, value] : config.table) throw config.error(key, "unknown key (tls has no settings)");
  return std::make_unique<classifier_tls::TlsClassifier>();
}

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "classifier-tls";
  d.version = "0.1.0";
  d.description = "names TLS traffic from the ClientHello: server name (SNI), ALPN, highest offered version";
  d.classifiers.push_back({"tls", "TLS ClientHello: sni, alpn (comma-separated), version", create});
  return d;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(classifier, tls)
