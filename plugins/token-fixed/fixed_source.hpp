// Token source "fixed": every connection gets the same token, given in the configuration.
#pragma once

#include <memory>
#include <string>

#include <quictun/sdk.hpp>

namespace quictun::token_fixed {

class FixedTokenSource final : public sdk::TokenSource {
 public:
  // The token is the plugin's argument (--token-source) or else its `token` key. Throws
  // sdk::Error when it is missing, empty, longer than 512 bytes or contains a NUL byte.
  static std::unique_ptr<sdk::TokenSource> create(const sdk::PluginConfig& config);

  explicit FixedTokenSource(std::string token) : token_(std::move(token)) {}

  void resolve(const sdk::ConnectionInfo& connection, std::string_view seen, bool eof,
               sdk::TokenCallback done) override;

 private:
  std::string token_;  // checked at start: 1..512 bytes, no NUL
};

}  // namespace quictun::token_fixed
