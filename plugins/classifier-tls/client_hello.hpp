// A TLS ClientHello (RFC 8446 4.1.2, RFC 5246 7.4.1.2), read from the first TLS records of the
// client's side: the handshake message may span several records.
//
// Every length on the wire is checked against the length that encloses it: a vector that runs
// past its enclosing structure makes the hello malformed. Bytes that have not arrived yet (the
// records announce more than was seen) make it truncated: what was read so far is kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace quictun::classifier_tls {

struct ClientHello {
  enum class State {
    need_more,  // not enough bytes to tell whether this is TLS
    not_tls,    // the first bytes are not a TLS handshake record with a ClientHello
    malformed,  // TLS records, but the ClientHello inside contradicts its own lengths
    truncated,  // a ClientHello, not all of it seen yet; the fields below are what came so far
    complete,
  };
  State state = State::need_more;
  std::string server_name;              // SNI host_name, "" if none
  std::vector<std::string> alpn;        // offered protocols, in order
  std::string version;                  // highest version offered: "1.3", "1.2", ...
};

ClientHello read_client_hello(std::string_view bytes);

}  // namespace quictun::classifier_tls
