// The token server's answer: the one piece of the plugin that reads bytes another machine chose,
// kept apart so that it can be tested and fuzzed without a network.
#pragma once

#include <string>

#include <quictun/sdk.hpp>

namespace quictun::token_http {

// The token in a response body ({"token": "..."}), or the reason there is none; `server` names
// the token server in that reason.
sdk::TokenDecision token_from_body(const std::string& body, const std::string& server);

}  // namespace quictun::token_http
