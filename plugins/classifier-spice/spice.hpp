// SPICE (spice-space.org), as quic-tun detects it. A SPICE client opens every channel with a
// link message (all integers little-endian):
//
//   SpiceLinkHeader  magic "REDQ" (4), major_version (4), minor_version (4), size (4)
//   SpiceLinkMess    connection_id (4), channel_type (1), channel_id (1), caps counts ...
//
// so the client's first 22 bytes give the version, the session (connection id) and the channel.
// On the main channel (type 1) the server's first messages tell more: after its own link header
// and SpiceLinkReply (`size` bytes), a 4-byte link result, then messages with a mini header
// (type (2), size (4)): MAIN_INIT (103) starts with the session id, NAME (113) holds a length and
// the server's name, UUID (114) its 16-byte UUID.
#pragma once

#include <quictun/sdk/classifier.hpp>

namespace quictun::classifier_spice {

class SpiceClassifier : public sdk::Classifier {
 public:
  sdk::ClassifierVerdict classify(const sdk::TrafficSample& sample) override;
};

}  // namespace quictun::classifier_spice
