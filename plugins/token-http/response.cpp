#include "response.hpp"

#include <strings.h>

#include <nlohmann/json.hpp>

namespace quictun::token_http {

sdk::TokenDecision token_from_body(const std::string& body, const std::string& server) {
  auto fail = [&](const std::string& why) { return sdk::TokenDecision::refused("token server " + server + ": " + why); };
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded()) return fail("response is not JSON");
  if (!json.is_object()) return fail("response is not a JSON object");
  auto it = json.find("token");
  if (it == json.end()) {
    // quic-tun's Go client decodes field names case-insensitively; servers written for it may
    // answer {"Token": ...}.
    for (auto field = json.begin(); field != json.end(); ++field) {
      if (strcasecmp(field.key().c_str(), "token") == 0) {
        it = field;
        break;
      }
    }
  }
  if (it == json.end()) return fail("response has no \"token\" field");
  if (!it->is_string()) return fail("\"token\" is not a string");
  const auto& token = it->get_ref<const std::string&>();
  if (token.empty()) return fail("\"token\" is empty");
  if (token.size() > sdk::max_token_bytes)
    return fail("\"token\" is " + std::to_string(token.size()) + " bytes; at most " + std::to_string(sdk::max_token_bytes) + " fit");
  if (token.find('\0') != std::string::npos) return fail("\"token\" contains a NUL byte");
  return sdk::TokenDecision::with_token(token);
}

}  // namespace quictun::token_http
