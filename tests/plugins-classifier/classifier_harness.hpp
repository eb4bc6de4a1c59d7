// What the classifier plugin tests share: one classifier, created through its real plugin
// file's factory, and the captured traffic in data/.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/dll/shared_library.hpp>
#include <gtest/gtest.h>

#include <quictun/sdk.hpp>

namespace quictun::testing {

class NullHost final : public sdk::Host {
 public:
  event_base* loop() override { return nullptr; }
  void log(sdk::LogLevel, std::string_view) override {}
  sdk::Side side() const override { return sdk::Side::server; }
};

// Classifier `name` from quictun-classifier-<name>.so. The library is declared first, so the
// classifier (whose code lives in it) is destroyed before it is unloaded.
class LoadedClassifier {
 public:
  explicit LoadedClassifier(const std::string& name, const sdk::PluginConfig& config = {})
      : library_(std::filesystem::path(QUICTUN_TEST_PLUGIN_DIR) / ("quictun-classifier-" + name + ".so")) {
    if (library_.get_alias<const std::uint32_t>("quictun_plugin_abi") != sdk::abi_version)
      throw std::logic_error("plugin built for another SDK ABI");
    if (!library_.has("quictun_provides__classifier__" + name)) throw std::logic_error("no marker for " + name);
    const auto& descriptor = library_.get_alias<const sdk::PluginDescriptor&()>("quictun_plugin_descriptor")();
    for (const auto& f : descriptor.classifiers)
      if (f.name == name) factory_ = &f;
    if (!factory_) throw std::logic_error("plugin provides no classifier " + name);
    classifier_ = factory_->create(config, host_);
  }

  sdk::ClassifierVerdict classify(std::string_view c2s, std::string_view s2c = {}, bool client_final = false,
                                  bool server_final = false) {
    return classifier_->classify({c2s, s2c, client_final, server_final});
  }
  sdk::Classifier& classifier() { return *classifier_; }

  // Creating one with `config` throws this message ("" when it does not throw). The exception
  // (its code is the plugin's) is gone before the library is.
  static std::string create_error(const std::string& name, const sdk::PluginConfig& config) {
    LoadedClassifier loaded(name);
    try {
      loaded.factory_->create(config, loaded.host_);
    } catch (const sdk::Error& e) {
      return e.what();
    }
    return {};
  }

 private:
  boost::dll::shared_library library_;
  NullHost host_;
  const sdk::ClassifierFactory* factory_ = nullptr;
  std::unique_ptr<sdk::Classifier> classifier_;
};

using Kind = sdk::ClassifierVerdict::Kind;

inline std::optional<std::string> property(const sdk::ClassifierVerdict& v, const std::string& key) {
  for (const auto& p : v.properties)
    if (p.key == key) return p.value;
  return std::nullopt;
}

// A capture in data/: made with the real programs on loopback (see data/README).
inline std::string fixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(QUICTUN_CLASSIFIER_DATA_DIR) / name, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data " + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A table with one key, as the host would hand it over from quictun.toml.
inline sdk::PluginConfig config_with_key(const std::string& key) {
  sdk::PluginConfig c;
  c.table[key] = sdk::ConfigValue(std::string("x"), "quictun.toml:9");
  return c;
}

}  // namespace quictun::testing
