#include "cleartext_parser.hpp"

#include <array>
#include <string>
#include <variant>

#include "base64.hpp"

namespace quictun::token_fixed {
namespace {

// The networks the server's transports dial; anything else could only fail later, as a
// backend error (0x03) instead of the refusal (0x02) it really is.
constexpr std::array<std::string_view, 4> networks = {"tcp", "tcp4", "tcp6", "unix"};

// Why `backend` is not "network:address", or "" when it is.
std::string check_backend(std::string_view backend) {
  if (backend.empty()) return "empty backend address";
  auto colon = backend.find(':');
  if (colon == std::string_view::npos) return "expected NETWORK:ADDRESS, with NETWORK one of tcp, tcp4, tcp6, unix";
  std::string_view network = backend.substr(0, colon);
  bool known = false;
  for (auto n : networks) known = known || n == network;
  if (!known) return "network " + sdk::quote(network) + " is not one of tcp, tcp4, tcp6, unix";
  if (colon + 1 == backend.size()) return "missing address after \"" + std::string(network) + ":\"";
  if (backend.find('\0') != std::string_view::npos) return "the address contains a NUL byte";
  return {};
}

}  // namespace

std::unique_ptr<sdk::TokenParser> CleartextParser::create(const sdk::PluginConfig& config) {
  for (const auto& [key, value] : config.table)
    if (key != "key") throw config.error(key, "is not a setting of token parser \"cleartext\" (it takes 'key')");

  std::string key = config.argument;
  bool from_table = false;
  if (key.empty()) {
    if (auto k = config.get_string("key")) {
      key = *k;
      from_table = true;
    }
  }
  if (key.empty()) return std::make_unique<CleartextParser>(false);
  if (sdk::equals_ignoring_case(key, "base64")) return std::make_unique<CleartextParser>(true);
  // The reference implementation ignores keys it does not know; refusing them catches typos
  // such as "base46" that would otherwise make every base64 token fail at run time.
  std::string what = "must be empty or \"base64\", not " + sdk::quote(key);
  throw from_table ? config.error("key", what) : config.argument_error("the key of token parser \"cleartext\" " + what);
}

void CleartextParser::parse(std::string_view token, const sdk::ClientInfo&, sdk::ParseCallback done) {
  done(decide(token));
}

sdk::ParseDecision CleartextParser::decide(std::string_view token) const {
  if (token.empty()) return sdk::ParseDecision::refuse("empty token");
  if (!base64_) {
    std::string why = check_backend(token);
    if (!why.empty()) return sdk::ParseDecision::refuse("token " + sdk::quote(token) + ": " + why);
    return sdk::ParseDecision::accept(std::string(token));
  }
  auto decoded = decode_base64(token);
  if (auto* error = std::get_if<Base64Error>(&decoded))
    return sdk::ParseDecision::refuse("token " + sdk::quote(token) + " is not valid base64: " + error->reason);
  auto& backend = std::get<std::string>(decoded);
  std::string why = check_backend(backend);
  if (!why.empty())
    return sdk::ParseDecision::refuse("token " + sdk::quote(token) + " decodes to " + sdk::quote(backend) + ": " + why);
  return sdk::ParseDecision::accept(std::move(backend));
}

}  // namespace quictun::token_fixed
