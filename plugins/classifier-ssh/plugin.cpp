// classifier-ssh: the "ssh" traffic classifier (ssh.hpp).
#include <quictun/sdk.hpp>

#include "ssh.hpp"

namespace {

using namespace quictun;

std::unique_ptr<sdk::Classifier> create(const sdk::PluginConfig& config, sdk::Host&) {
  for (const auto& [key, value] : config.table) throw config.error(key, "unknown key (ssh has no settings)");
  return std::make_unique<classifier_ssh::SshClassifier>();
}

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "classifier-ssh";
  d.version = "0.1.0";
  d.description = "names SSH traffic from both identification lines: protocol version, software, comments";
  d.classifiers.push_back({"ssh", "SSH identification lines: protoVersion, clientSoftware, clientComments, "
                                  "serverSoftware, serverComments",
                           create});
  return d;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(classifier, ssh)
