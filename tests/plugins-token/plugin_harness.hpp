// What every token-plugin test needs: the plugin's real .so loaded through Boost.DLL, a Host
// over a real event_base, and a few helpers for files and replies.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/dll/shared_library.hpp>
#include <event2/event.h>
#include <gtest/gtest.h>
#include <quictun/sdk.hpp>
#include <unistd.h>

namespace quictun::test {

using namespace std::chrono_literals;

class TestHost final : public sdk::Host {
 public:
  TestHost() : base_(event_base_new()) {
    if (!base_) throw std::runtime_error("event_base_new failed");
  }
  event_base* loop() override { return base_.get(); }
  void log(sdk::LogLevel level, std::string_view message) override { logs.emplace_back(level, std::string(message)); }
  sdk::Side side() const override { return side_as; }
  sdk::Side side_as = sdk::Side::client;  // the program the plugin believes it runs in

  bool logged(std::string_view needle) const {
    for (const auto& [level, message] : logs) {
      if (message.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  // Runs the loop until `condition()` holds or `limit` has passed; says whether it held.
  bool run_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      run_for(5ms);
    }
    return true;
  }

  void run_for(std::chrono::milliseconds duration) {
    timeval tv{static_cast<time_t>(duration.count() / 1000), static_cast<suseconds_t>((duration.count() % 1000) * 1000)};
    event_base_loopexit(base_.get(), &tv);
    event_base_dispatch(base_.get());
  }

  std::vector<std::pair<sdk::LogLevel, std::string>> logs;

 private:
  sdk::EventBasePtr base_;
};

// One plugin file, loaded for the test's lifetime. Objects it creates must be destroyed first:
// declare them after it.
class LoadedPlugin {
 public:
  explicit LoadedPlugin(const char* path) : library_(path) {}

  std::uint32_t abi() const { return library_.get_alias<const std::uint32_t>("quictun_plugin_abi"); }
  bool provides(const std::string& marker) const { return library_.has("quictun_provides__" + marker); }
  const sdk::PluginDescriptor& descriptor() const {
    return library_.get_alias<const sdk::PluginDescriptor&()>("quictun_plugin_descriptor")();
  }

  std::unique_ptr<sdk::TokenSource> source(const std::string& name, const sdk::PluginConfig& config, sdk::Host& host) const {
    for (const auto& factory : descriptor().token_sources) {
      if (factory.name == name) return factory.create(config, host);
    }
    throw std::runtime_error("no token source " + name);
  }
  std::unique_ptr<sdk::TokenParser> parser(const std::string& name, const sdk::PluginConfig& config, sdk::Host& host) const {
    for (const auto& factory : descriptor().token_parsers) {
      if (factory.name == name) return factory.create(config, host);
    }
    throw std::runtime_error("no token parser " + name);
  }

  // The message of the sdk::Error the source's factory throws, or "" when it throws none.
  std::string source_error(const std::string& name, const sdk::PluginConfig& config, sdk::Host& host) const {
    try {
      source(name, config, host);
    } catch (const sdk::Error& e) {
      return e.what();
    }
    return {};
  }
  std::string parser_error(const std::string& name, const sdk::PluginConfig& config, sdk::Host& host) const {
    try {
      parser(name, config, host);
    } catch (const sdk::Error& e) {
      return e.what();
    }
    return {};
  }

 private:
  boost::dll::shared_library library_;
};

// Built in place: moving a whole Storage trips GCC 12's -Wmaybe-uninitialized at -O2.
template <typename T>
sdk::ConfigValue value(T v) {
  return sdk::ConfigValue(sdk::ConfigValue::Storage(std::in_place_type<T>, std::move(v)), "test.toml:7");
}

inline sdk::PluginConfig config(std::string argument, sdk::ConfigTable table = {}) {
  sdk::PluginConfig c;
  c.argument = std::move(argument);
  c.argument_origin = c.argument.empty() ? "" : "--token-source";
  c.table = std::move(table);
  c.table_origin = c.table.empty() ? "" : "test.toml:5";
  return c;
}

// A folder for the test's files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("quictun-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

  // Writes `text` to `name` through a rename, as editors and config tools do: readers see the
  // old or the new file, never half of one.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    auto target = path_ / name;
    auto temporary = path_ / (name + ".tmp");
    {
      std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
      out << text;
    }
    std::filesystem::rename(temporary, target);
    return target;
  }

 private:
  std::filesystem::path path_;
};

// The decision a source reports for one resolve() call, taken synchronously or after the loop.
struct Outcome {
  std::optional<sdk::TokenDecision> decision;
  int calls = 0;
  sdk::TokenCallback callback() {
    return [this](sdk::TokenDecision d) {
      ++calls;
      decision = std::move(d);
    };
  }
};

// An HTTP response taken apart, to check what a source sends an application.
struct Reply {
  int status = 0;
  std::string head;
  std::string body;
  bool well_formed = false;  // status line, Content-Length matching the body, Connection: close
};

inline Reply parse_reply(const std::string& bytes) {
  Reply r;
  auto end = bytes.find("\r\n\r\n");
  if (bytes.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(bytes.substr(9, 3));
  r.head = bytes.substr(0, end + 4);
  r.body = bytes.substr(end + 4);
  auto length = r.head.find("Content-Length: ");
  bool length_ok = length != std::string::npos &&
                   std::stoul(r.head.substr(length + 16)) == r.body.size();
  r.well_formed = length_ok && r.head.find("\r\nConnection: close\r\n") != std::string::npos;
  return r;
}

}  // namespace quictun::test
