// HTTP/1.x, told by the client's first request: its request line and headers, read with
// libhttp-parser. Properties: method, host (the Host header, or the authority of an
// absolute-form target), path (without the query) and version.
#pragma once

#include <quictun/sdk/classifier.hpp>

namespace quictun::classifier_http {

class HttpClassifier : public sdk::Classifier {
 public:
  sdk::ClassifierVerdict classify(const sdk::TrafficSample& sample) override;
};

}  // namespace quictun::classifier_http
