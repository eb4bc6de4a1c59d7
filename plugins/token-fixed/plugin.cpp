// token-fixed: the "fixed" token source and the "cleartext" token parser, the pair the
// reference quic-tun ships as its defaults.
#include <memory>

#include <quictun/sdk.hpp>

#include "cleartext_parser.hpp"
#include "fixed_source.hpp"

namespace {

using namespace quictun;

sdk::PluginDescriptor describe() {
  sdk::TokenSourceFactory fixed;
  fixed.name = "fixed";
  fixed.help = "the same token for every connection: the --token-source argument or 'token'";
  fixed.create = [](const sdk::PluginConfig& config, sdk::Host&) { return token_fixed::FixedTokenSource::create(config); };

  sdk::TokenParserFactory cleartext;
  cleartext.name = "cleartext";
  cleartext.help = "the token is the backend address (network:address); key \"base64\" decodes it first";
  cleartext.create = [](const sdk::PluginConfig& config, sdk::Host&) { return token_fixed::CleartextParser::create(config); };

  sdk::PluginDescriptor descriptor;
  descriptor.name = "token-fixed";
  descriptor.version = "0.1.0";
  descriptor.description = "a fixed token on the client; the token as the backend address on the server";
  descriptor.token_sources.push_back(std::move(fixed));
  descriptor.token_parsers.push_back(std::move(cleartext));
  return descriptor;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(token_source, fixed)
QUICTUN_PLUGIN_PROVIDES(token_parser, cleartext)
