// Token parser "cleartext": the token is the backend address itself, optionally in base64.
#pragma once

#include <memory>

#include <quictun/sdk.hpp>

namespace quictun::token_fixed {

class CleartextParser final : public sdk::TokenParser {
 public:
  // The key is the plugin's argument (--token-parser-key) or else its `key` entry: empty for
  // plain tokens, "base64" (any case) for base64-encoded ones. Throws sdk::Error otherwise.
  static std::unique_ptr<sdk::TokenParser> create(const sdk::PluginConfig& config);

  explicit CleartextParser(bool base64) : base64_(base64) {}

  void parse(std::string_view token, const sdk::ClientInfo& client, sdk::ParseCallback done) override;

 private:
  sdk::ParseDecision decide(std::string_view token) const;

  bool base64_;  // decode the token before reading it as an address
};

}  // namespace quictun::token_fixed
