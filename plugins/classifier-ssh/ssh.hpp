// SSH, from the identification line each side sends first (RFC 4253, section 4.2):
//
//   SSH-protoversion-softwareversion SP comments CR LF     (at most 255 bytes, CR LF included)
//
// The client's line comes first on its side. A server may send other lines before its own, so
// on the server side the first line starting with "SSH-" counts.
#pragma once

#include <quictun/sdk/classifier.hpp>

namespace quictun::classifier_ssh {

class SshClassifier : public sdk::Classifier {
 public:
  sdk::ClassifierVerdict classify(const sdk::TrafficSample& sample) override;
};

}  // namespace quictun::classifier_ssh
