// Finds plugins in the plugin directories, loads the ones the configuration uses (Boost.DLL),
// checks their ABI, and creates token sources, token parsers, transports, congestion controllers
// and classifiers from them.
//
// Discovery reads only symbol names (the `quictun_provides__<kind>__<name>` markers), so a
// plugin that is not used is never loaded.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <quictun/sdk.hpp>

namespace boost::dll { class shared_library; }

namespace quictun::plugin {

enum class Kind { token_source, token_parser, transport, congestion, classifier };
std::string kind_text(Kind kind);  // "token source", ...

class PluginLoader {
 public:
  // `dirs` are searched in order; `loop` and `side` are handed to plugins through sdk::Host.
  PluginLoader(std::vector<std::filesystem::path> dirs, event_base* loop, sdk::Side side);
  ~PluginLoader();
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;

  // Each throws UsageError with a message naming the plugin file and the problem. The objects
  // keep their library loaded for as long as they live.
  std::shared_ptr<sdk::TokenSource> token_source(const std::string& name, const sdk::PluginConfig& config);
  std::shared_ptr<sdk::TokenParser> token_parser(const std::string& name, const sdk::PluginConfig& config);
  std::shared_ptr<sdk::Transport> transport(const std::string& scheme, const sdk::PluginConfig& config);
  std::shared_ptr<sdk::CongestionControl> congestion_control(const std::string& name, const sdk::PluginConfig& config);
  std::shared_ptr<sdk::Classifier> classifier(const std::string& name, const sdk::PluginConfig& config);

  // One plugin file of the plugin dirs, loaded: its descriptor, or why it could not be loaded.
  struct Listing {
    std::filesystem::path file;
    const sdk::PluginDescriptor* descriptor = nullptr;  // null when `error` says why
    std::string error;
  };
  // Loads every plugin the plugin dirs hold (not only those a configuration names), in the
  // order the dirs are searched, for --list-plugins. A plugin that cannot be loaded is listed
  // with its error rather than thrown, so one bad file does not hide the others.
  std::vector<Listing> load_all();

  // Names of everything the plugin directories provide of `kind`, sorted.
  std::vector<std::string> available(Kind kind) const;
  // "file: reason" for each .so in the plugin dirs that is not a quictun plugin.
  const std::vector<std::string>& skipped() const { return skipped_; }
  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }

 private:
  struct Loaded;
  struct Offer {
    std::filesystem::path file;
  };
  void scan();
  std::shared_ptr<Loaded> load(const std::filesystem::path& file);
  const std::filesystem::path& find(Kind kind, const std::string& name);

  std::vector<std::filesystem::path> dirs_;
  event_base* loop_;
  sdk::Side side_;
  std::map<std::pair<Kind, std::string>, std::vector<Offer>> offers_;  // normalized name -> files
  std::vector<std::filesystem::path> plugin_files_;                   // every plugin found, in search order
  std::map<std::filesystem::path, std::shared_ptr<Loaded>> loaded_;
  std::map<std::string, std::filesystem::path> plugin_names_;  // descriptor name -> file
  std::vector<std::string> skipped_;
};

// Lower case, '-' as '_': how names are compared and written in markers.
std::string normalize_name(const std::string& name);

}  // namespace quictun::plugin
