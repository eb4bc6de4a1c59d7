// TLS, told by the client's first record: a handshake record carrying a ClientHello. Its server
// name (SNI), offered ALPN protocols and highest offered version are the properties.
#pragma once

#include <quictun/sdk/classifier.hpp>

namespace quictun::classifier_tls {

class TlsClassifier : public sdk::Classifier {
 public:
  sdk::ClassifierVerdict classify(const sdk::TrafficSample& sample) override;
};

}  // namespace quictun::classifier_tls
