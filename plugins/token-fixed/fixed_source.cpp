#include "fixed_source.hpp"

#include <cstddef>

namespace quictun::token_fixed {
std::unique_ptr<sdk::TokenSource> FixedTokenSource::create(const sdk::PluginConfig& config) {
  for (const auto& [key, value] : config.table)
    if (key != "token") throw config.error(key, "is not a setting of token source \"fixed\" (it takes 'token')");

  std::string token;
  bool from_table = false;
  if (!config.argument.empty()) {
    token = config.argument;
  } else if (auto value = config.get_string("token")) {
    token = *value;
    from_table = true;
  } else {
    throw config.argument_error(
        "token source \"fixed\" needs a token: pass it with --token-source or set 'token' in its table");
  }
  // Errors point at wherever the token was written: the command line or the TOML key.
  auto complain = [&](const std::string& what) {
    return from_table ? config.error("token", what) : config.argument_error("the token " + what);
  };
  if (token.empty()) throw complain("must not be empty");
  if (token.size() > sdk::max_token_bytes)
    throw complain("is " + std::to_string(token.size()) + " bytes long; at most " + std::to_string(sdk::max_token_bytes) +
                   " fit in the stream handshake");
  if (token.find('\0') != std::string::npos)
    throw complain("contains a NUL byte, which the server would strip as handshake padding");
  return std::make_unique<FixedTokenSource>(std::move(token));
}

void FixedTokenSource::resolve(const sdk::ConnectionInfo&, std::string_view, bool, sdk::TokenCallback done) {
  // `forward` stays unset: whatever the application already sent goes through unchanged.
  done(sdk::TokenDecision::with_token(token_));
}

}  // namespace quictun::token_fixed
