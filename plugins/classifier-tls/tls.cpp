#include "tls.hpp"

#include "client_hello.hpp"

namespace quictun::classifier_tls {

sdk::ClassifierVerdict TlsClassifier::classify(const sdk::TrafficSample& sample) {
  // A TLS client speaks first; server bytes seen before its own prove nothing, since the host
  // does not keep the order between the two directions.
  ClientHello hello = read_client_hello(sample.client_to_server);
  using State = ClientHello::State;
  switch (hello.state) {
    case State::need_more:
      return sample.client_final ? sdk::ClassifierVerdict::not_mine() : sdk::ClassifierVerdict::need_more();
    case State::not_tls:
    case State::malformed:
      return sdk::ClassifierVerdict::not_mine();
    case State::truncated:
    case State::complete:
      break;
  }
  sdk::Properties props;
  if (!hello.server_name.empty()) props.push_back({"sni", hello.server_name});
  if (!hello.alpn.empty()) {
    std::string alpn;
    for (const auto& p : hello.alpn) alpn += (alpn.empty() ? "" : ",") + p;
    props.push_back({"alpn", alpn});
  }
  if (!hello.version.empty()) props.push_back({"version", hello.version});
  // A hello cut short by the budget still names the protocol, with what its first part said.
  if (hello.state == State::truncated) return sdk::ClassifierVerdict::mine_so_far("tls", std::move(props));
  return sdk::ClassifierVerdict::mine("tls", std::move(props));
}

}  // namespace quictun::classifier_tls
