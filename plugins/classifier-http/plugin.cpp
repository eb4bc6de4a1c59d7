// classifier-http: the "http" traffic classifier (http.hpp).
#include <quictun/sdk.hpp>

#include "http.hpp"

namespace {

using namespace quictun;

std::unique_ptr<sdk::Classifier> create(const sdk::PluginConfig& config, sdk::Host&) {
  for (const auto& [key, value] : config.table) throw config.error(key, "unknown key (http has no settings)");
  return std::make_unique<classifier_http::HttpClassifier>();
}

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "classifier-http";
  d.version = "0.1.0";
  d.description = "names HTTP/1.x traffic from the first request head: method, host, path, version";
  d.classifiers.push_back({"http", "HTTP/1.x request head: method, host, path, version", create});
  return d;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(classifier, http)
