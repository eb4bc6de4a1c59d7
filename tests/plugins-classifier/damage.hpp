// Every single-byte change of a capture, each cut where the change is and in full: whatever a
// classifier answers, it must not read outside what it was given (the check under
// -DQUICTUN_SANITIZE=ON) and must keep its claims sane.
#pragma once

#include "classifier_harness.hpp"

namespace quictun::testing {

inline void classify_every_damaged_copy(LoadedClassifier& c, const std::string& client, const std::string& server,
                                        const std::string& protocol) {
  for (int side = 0; side < 2; ++side) {
    const std::string& original = side == 0 ? client : server;
    for (std::size_t i = 0; i < original.size(); ++i)
      for (unsigned char value : {0x00, 0x01, 0x0a, 0x20, 0x7f, 0x80, 0xff}) {
        std::string damaged = original;
        damaged[i] = static_cast<char>(value);
        for (std::size_t cut : {damaged.size(), i + 1}) {
          std::string_view d = std::string_view(damaged).substr(0, cut);
          auto v = side == 0 ? c.classify(d, server) : c.classify(client, d);
          if (v.kind == Kind::mine || v.kind == Kind::mine_so_far) {
            EXPECT_EQ(v.protocol, protocol);
          }
          for (const auto& p : v.properties) EXPECT_LE(p.value.size(), client.size() + server.size());
        }
      }
  }
}

}  // namespace quictun::testing
