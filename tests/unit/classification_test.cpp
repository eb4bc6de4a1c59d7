// The classification engine (tunnel/classification.hpp) with in-test classifiers: who wins,
// when it stops, and how much it keeps.
#include "tunnel/classification.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <stdexcept>

namespace quictun::tunnel {
namespace {

using Verdict = sdk::ClassifierVerdict;

// A classifier whose answers the test writes; it records what it was shown.
class Scripted : public sdk::Classifier {
 public:
  Scripted(std::function<Verdict(const sdk::TrafficSample&)> answer, std::size_t budget = 4096)
      : answer_(std::move(answer)), budget_(budget) {}
  Verdict classify(const sdk::TrafficSample& s) override {
    ++calls;
    largest_seen = std::max({largest_seen, s.client_to_server.size(), s.server_to_client.size()});
    return answer_(s);
  }
  std::size_t budget() const override { return budget_; }
  int calls = 0;
  std::size_t largest_seen = 0;

 private:
  std::function<Verdict(const sdk::TrafficSample&)> answer_;
  std::size_t budget_;
};

struct Fixture {
  explicit Fixture(std::vector<std::shared_ptr<Scripted>> classifiers) : scripted(std::move(classifiers)) {
    std::vector<plugin::ClassifierSet::Entry> entries;
    for (std::size_t i = 0; i < scripted.size(); ++i) entries.push_back({"c" + std::to_string(i), scripted[i], 0});
    set = std::make_unique<plugin::ClassifierSet>(std::move(entries));
    engine = std::make_unique<TunnelClassifier>(*set);
  }
  bool feed(Flow flow, const std::string& bytes) {
    return engine->observe(flow, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::vector<std::shared_ptr<Scripted>> scripted;
  std::unique_ptr<plugin::ClassifierSet> set;
  std::unique_ptr<TunnelClassifier> engine;
};

std::shared_ptr<Scripted> starts_with(const std::string& magic, const std::string& protocol) {
  return std::make_shared<Scripted>([magic, protocol](const sdk::TrafficSample& s) {
    std::string_view c = s.client_to_server;
    if (c.size() < magic.size()) return s.client_final ? Verdict::not_mine() : Verdict::need_more();
    if (c.substr(0, magic.size()) != magic) return Verdict::not_mine();
    return Verdict::mine(protocol, {{"first", std::string(c.substr(0, magic.size() + 1))}});
  });
}

std::shared_ptr<Scripted> always_need_more(std::size_t budget) {
  return std::make_shared<Scripted>([](const sdk::TrafficSample&) { return Verdict::need_more(); }, budget);
}

TEST(Classification, FirstClaimWinsAndTheOthersStopBeingAsked) {
  Fixture f({starts_with("SSH-", "ssh"), starts_with("GET ", "http")});
  EXPECT_TRUE(f.feed(Flow::client_to_server, "GE"));
  EXPECT_FALSE(f.feed(Flow::client_to_server, "T /x"));
  EXPECT_TRUE(f.engine->settled());
  EXPECT_EQ(f.engine->result().protocol, "http");
  EXPECT_EQ(f.engine->result().properties["first"], "GET /");
  const int calls = f.scripted[0]->calls;  // ssh said not_mine at "GET "
  EXPECT_FALSE(f.feed(Flow::client_to_server, "more"));
  EXPECT_EQ(f.scripted[0]->calls, calls);
  EXPECT_EQ(f.engine->result().log_fields(), " protocol=http first=\"GET /\"");
}

TEST(Classification, NobodyClaimingSettlesAsUnknown) {
  Fixture f({starts_with("SSH-", "ssh"), starts_with("GET ", "http")});
  EXPECT_FALSE(f.feed(Flow::client_to_server, "\x16\x03\x01 hello"));
  EXPECT_TRUE(f.engine->settled());
  EXPECT_EQ(f.engine->result().protocol, "");
  EXPECT_EQ(f.engine->result().log_fields(), " protocol=unknown");
}

TEST(Classification, BudgetBoundsWhatIsKeptAndEndsTheQuestion) {
  Fixture f({always_need_more(100), always_need_more(300)});
  std::string chunk(64, 'x');
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(f.feed(Flow::client_to_server, chunk));
    EXPECT_TRUE(f.feed(Flow::server_to_client, chunk));
  }
  // The first ran out of budget both ways (256 > 100) and is out; the second still waits.
  const int calls = f.scripted[0]->calls;
  EXPECT_LE(f.scripted[0]->largest_seen, 100u);
  EXPECT_TRUE(f.feed(Flow::client_to_server, chunk));
  EXPECT_EQ(f.scripted[0]->calls, calls);
  EXPECT_FALSE(f.feed(Flow::server_to_client, chunk));  // 320 >= 300 both ways
  EXPECT_TRUE(f.engine->settled());
  EXPECT_EQ(f.engine->result().protocol, "");
  EXPECT_EQ(f.scripted[1]->largest_seen, 300u);
}

TEST(Classification, EndedFlowsEndTheQuestion) {
  Fixture f({always_need_more(4096)});
  EXPECT_TRUE(f.feed(Flow::client_to_server, "abc"));
  EXPECT_TRUE(f.engine->observe(Flow::client_to_server, nullptr, 0));
  EXPECT_FALSE(f.engine->observe(Flow::server_to_client, nullptr, 0));
  EXPECT_TRUE(f.engine->settled());
}

TEST(Classification, ClaimSoFarKeepsAskingItsOwnerAndSurvivesTheBudget) {
  auto owner = std::make_shared<Scripted>(
      [](const sdk::TrafficSample& s) {
        return Verdict::mine_so_far("tls", {{"seen", std::to_string(s.client_to_server.size())}});
      },
      10);
  auto other = starts_with("SSH-", "ssh");
  Fixture f({owner, other});
  EXPECT_TRUE(f.feed(Flow::client_to_server, "abcd"));
  EXPECT_EQ(f.engine->result().protocol, "tls");
  EXPECT_FALSE(f.engine->settled());
  const int other_calls = other->calls;
  EXPECT_TRUE(f.feed(Flow::client_to_server, "efgh"));
  EXPECT_EQ(other->calls, other_calls);
  EXPECT_TRUE(f.feed(Flow::client_to_server, "ijkl"));  // client side full (10); the server's may still come
  f.engine->finish();
  EXPECT_TRUE(f.engine->settled());
  EXPECT_EQ(f.engine->result().protocol, "tls");
  EXPECT_EQ(f.engine->result().properties["seen"], "10");
}

TEST(Classification, OwnerTakingItsClaimBackLeavesNoProtocol) {
  int round = 0;
  auto fickle = std::make_shared<Scripted>([&round](const sdk::TrafficSample&) {
    return ++round == 1 ? Verdict::mine_so_far("tls") : Verdict::not_mine();
  });
  Fixture f({fickle});
  EXPECT_TRUE(f.feed(Flow::client_to_server, "a"));
  EXPECT_FALSE(f.feed(Flow::client_to_server, "b"));
  EXPECT_EQ(f.engine->result().protocol, "");
}

TEST(Classification, ThrowingOrNamelessClassifiersAreNotMine) {
  auto thrower = std::make_shared<Scripted>([](const sdk::TrafficSample&) -> Verdict { throw std::runtime_error("bug"); });
  auto nameless = std::make_shared<Scripted>([](const sdk::TrafficSample&) { return Verdict::mine(""); });
  Fixture f({thrower, nameless, starts_with("ok", "fine")});
  EXPECT_FALSE(f.feed(Flow::client_to_server, "ok!"));
  EXPECT_EQ(f.engine->result().protocol, "fine");
}

TEST(Classification, NetworkTextIsEscapedInTheLogLine) {
  auto liar = std::make_shared<Scripted>([](const sdk::TrafficSample&) {
    return Verdict::mine("x\ny", {{"sni", "evil\n2026-01-01 [info] forged\x1b[2J"}, {"bad key", "v"}});
  });
  Fixture f({liar});
  f.feed(Flow::client_to_server, "a");
  const std::string line = f.engine->result().log_fields();
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find("bad key"), std::string::npos);
  EXPECT_NE(line.find("protocol=x\\ny"), std::string::npos);
}

TEST(Classification, NoClassifiersMeansNothingToDo) {
  plugin::ClassifierSet none;
  TunnelClassifier engine(none);
  EXPECT_FALSE(engine.enabled());
  EXPECT_TRUE(engine.settled());
  EXPECT_FALSE(engine.observe(Flow::client_to_server, reinterpret_cast<const std::uint8_t*>("a"), 1));
  EXPECT_EQ(engine.finish_for_log(), "");
}

}  // namespace
}  // namespace quictun::tunnel
