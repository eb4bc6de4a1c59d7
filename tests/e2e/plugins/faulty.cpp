// Test plugin: token sources and parsers that fail in each way a careless plugin can, so the
// tests can check that the host refuses only what is affected.
#include <quictun/sdk.hpp>

#include <stdexcept>

namespace {

using namespace quictun::sdk;

// Throws for connections whose first bytes start with "boom", answers a token otherwise.
class ThrowingSource : public TokenSource {
 public:
  explicit ThrowingSource(std::string token) : token_(std::move(token)) {}
  void resolve(const ConnectionInfo&, std::string_view seen, bool eof, TokenCallback done) override {
    if (seen.size() < 4 && !eof) {
      done(TokenDecision::need_more_bytes());
      return;
    }
    if (seen.substr(0, 4) == "boom") throw std::runtime_error("resolve exploded");
    done(TokenDecision::with_token(token_));
  }

 private:
  std::string token_;
};

class ThrowingParser : public TokenParser {
 public:
  void parse(std::string_view token, const ClientInfo&, ParseCallback done) override {
    if (token.substr(0, 4) == "boom") throw std::runtime_error("parse exploded");
    done(ParseDecision::accept(std::string(token)));
  }
};

PluginDescriptor describe() {
  PluginDescriptor d;
  d.name = "test-faulty";
  d.version = "1";
  d.description = "failure modes for tests";
  d.token_sources.push_back({"throws-on-boom", "throws when the application says boom",
                             [](const PluginConfig& c, Host&) { return std::make_unique<ThrowingSource>(c.argument); }});
  d.token_sources.push_back({"factory-throws", "its factory fails", [](const PluginConfig&, Host&) -> std::unique_ptr<TokenSource> {
                               throw std::runtime_error("cannot initialise: disk on fire");
                             }});
  d.token_parsers.push_back({"throws-on-boom", "throws for tokens starting with boom",
                             [](const PluginConfig&, Host&) { return std::make_unique<ThrowingParser>(); }});
  return d;
}

}  // namespace

QUICTUN_PLUGIN(describe)
QUICTUN_PLUGIN_PROVIDES(token_source, throws_on_boom)
QUICTUN_PLUGIN_PROVIDES(token_source, factory_throws)
QUICTUN_PLUGIN_PROVIDES(token_parser, throws_on_boom)
