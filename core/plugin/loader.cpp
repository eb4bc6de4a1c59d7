#include "plugin/loader.hpp"

#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>

#include "util/error.hpp"

namespace quictun::plugin {
namespace fs = std::filesystem;

namespace {

constexpr const char* kMarkerPrefix = "quictun_provides__";

// sdk::Host for one plugin: the shared loop, and log lines tagged with the plugin's name.
class PluginHost : public sdk::Host {
 public:
  PluginHost(event_base* loop, std::string name, sdk::Side side) : loop_(loop), name_(std::move(name)), side_(side) {}
  event_base* loop() override { return loop_; }
  sdk::Side side() const override { return side_; }
  void log(sdk::LogLevel level, std::string_view message) override {
    switch (level) {
      case sdk::LogLevel::trace: spdlog::trace("[{}] {}", name_, message); break;
      case sdk::LogLevel::debug: spdlog::debug("[{}] {}", name_, message); break;
      case sdk::LogLevel::info: spdlog::info("[{}] {}", name_, message); break;
      case sdk::LogLevel::warn: spdlog::warn("[{}] {}", name_, message); break;
      case sdk::LogLevel::error: spdlog::error("[{}] {}", name_, message); break;
    }
  }

 private:
  event_base* loop_;
  std::string name_;
  sdk::Side side_;
};

bool parse_marker(const std::string& symbol, Kind& kind, std::string& name) {
  if (symbol.rfind(kMarkerPrefix, 0) != 0) return false;
  std::string rest = symbol.substr(std::char_traits<char>::length(kMarkerPrefix));
  auto sep = rest.find("__");
  if (sep == std::string::npos) return false;
  std::string k = rest.substr(0, sep);
  name = rest.substr(sep + 2);
  if (k == "token_source") kind = Kind::token_source;
  else if (k == "token_parser") kind = Kind::token_parser;
  else if (k == "transport") kind = Kind::transport;
  else if (k == "congestion") kind = Kind::congestion;
  else if (k == "classifier") kind = Kind::classifier;
  else return false;
  return !name.empty();
}

}  // namespace

std::string kind_text(Kind kind) {
  switch (kind) {
    case Kind::token_source: return "token source";
    case Kind::token_parser: return "token parser";
    case Kind::transport: return "transport";
    case Kind::congestion: return "congestion controller";
    case Kind::classifier: return "classifier";
  }
  return "plugin";
}

std::string normalize_name(const std::string& name) {
  std::string out;
  for (char c : name) out.push_back(c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

struct PluginLoader::Loaded {
  std::shared_ptr<boost::dll::shared_library> library;
  const sdk::PluginDescriptor* descriptor = nullptr;
  fs::path file;
};

PluginLoader::PluginLoader(std::vector<fs::path> dirs, event_base* loop, sdk::Side side)
    : dirs_(std::move(dirs)), loop_(loop), side_(side) {
  scan();
}

PluginLoader::~PluginLoader() = default;

void PluginLoader::scan() {
  for (const auto& dir : dirs_) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      spdlog::debug("plugin directory {} does not exist", dir.string());
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.path().extension() == ".so" && entry.is_regular_file(ec)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::vector<std::string> symbols;
      try {
        boost::dll::library_info info(file);
        symbols = info.symbols("boostdll");
      } catch (const std::exception& e) {
        skipped_.push_back(file.string() + ": not a loadable shared object (" + e.what() + ")");
        continue;
      }
      bool is_plugin = std::find(symbols.begin(), symbols.end(), "quictun_plugin_descriptor") != symbols.end();
      if (!is_plugin) {
        skipped_.push_back(file.string() + ": not a quictun plugin (it exports no quictun_plugin_descriptor)");
        continue;
      }
      plugin_files_.push_back(file);
      for (const auto& s : symbols) {
        Kind kind;
        std::string name;
        if (parse_marker(s, kind, name)) offers_[{kind, normalize_name(name)}].push_back(Offer{file});
      }
    }
  }
  for (const auto& s : skipped_) spdlog::warn("plugin directory: {}: ignored", s);
}

std::vector<std::string> PluginLoader::available(Kind kind) const {
  std::vector<std::string> out;
  for (const auto& [key, offers] : offers_) {
    if (key.first != kind) continue;
    std::string shown = key.second;  // markers spell '-' as '_'; users type '-'
    std::replace(shown.begin(), shown.end(), '_', '-');
    out.push_back(shown);
  }
  return out;
}

const fs::path& PluginLoader::find(Kind kind, const std::string& name) {
  auto it = offers_.find({kind, normalize_name(name)});
  if (it == offers_.end()) {
    std::string dirs, names;
    for (const auto& d : dirs_) dirs += (dirs.empty() ? "" : ", ") + d.string();
    for (const auto& n : available(kind)) names += (names.empty() ? "" : ", ") + n;
    throw UsageError("unknown " + kind_text(kind) + " \"" + name + "\" (available: " +
                     (names.empty() ? "none" : names) + "; plugin dirs: " + (dirs.empty() ? "none" : dirs) + ")");
  }
  std::set<fs::path> files;
  for (const auto& o : it->second) files.insert(fs::weakly_canonical(o.file));
  if (files.size() > 1) {
    std::string list;
    for (const auto& f : files) list += (list.empty() ? "" : " and ") + f.string();
    throw UsageError("two plugins provide " + kind_text(kind) + " \"" + name + "\": " + list +
                     "; remove one of them");
  }
  return it->second.front().file;
}

std::shared_ptr<PluginLoader::Loaded> PluginLoader::load(const fs::path& file) {
  auto it = loaded_.find(file);
  if (it != loaded_.end()) return it->second;
  auto loaded = std::make_shared<Loaded>();
  loaded->file = file;
  try {
    loaded->library = std::make_shared<boost::dll::shared_library>(
        file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw UsageError(file.string() + ": cannot load plugin: " + e.what());
  }
  if (!loaded->library->has("quictun_plugin_abi") || !loaded->library->has("quictun_plugin_descriptor"))
    throw UsageError(file.string() + ": not a quictun plugin (no quictun_plugin_abi / quictun_plugin_descriptor)");
  // Both read as plain data before any of the plugin's C++ types is touched: they decide
  // whether those types mean the same on both sides.
  std::uint32_t abi = loaded->library->get_alias<const std::uint32_t>("quictun_plugin_abi");
  std::optional<sdk::Toolchain> toolchain;
  if (loaded->library->has("quictun_plugin_toolchain"))
    toolchain = loaded->library->get_alias<const sdk::Toolchain>("quictun_plugin_toolchain");
  if (abi != sdk::abi_version || toolchain != sdk::toolchain) {
    // A plugin from before SDK ABI 2 exports no toolchain tag.
    std::string built = "SDK ABI " + std::to_string(abi) + ", " +
                        (toolchain ? sdk::describe(*toolchain) : std::string("toolchain not recorded"));
    std::string here = "SDK ABI " + std::to_string(sdk::abi_version) + ", " + sdk::describe(sdk::toolchain);
    throw UsageError(file.string() + ": plugin built with " + built + "; this host: " + here +
                     "; rebuild the plugin against this host's SDK with the same compiler");
  }
  try {
    auto& describe = loaded->library->get_alias<const sdk::PluginDescriptor&()>("quictun_plugin_descriptor");
    loaded->descriptor = &describe();
  } catch (const std::exception& e) {
    throw UsageError(file.string() + ": plugin descriptor failed: " + e.what());
  }
  const std::string& name = loaded->descriptor->name;
  auto dup = plugin_names_.find(name);
  if (dup != plugin_names_.end() && dup->second != file)
    throw UsageError("two plugins are named \"" + name + "\": " + dup->second.string() + " and " + file.string() +
                     "; remove one of them");
  plugin_names_[name] = file;
  spdlog::debug("loaded plugin {} {} from {}", name, loaded->descriptor->version, file.string());
  loaded_[file] = loaded;
  return loaded;
}

std::vector<PluginLoader::Listing> PluginLoader::load_all() {
  std::vector<Listing> out;
  for (const auto& file : plugin_files_) {
    Listing listing;
    listing.file = file;
    try {
      listing.descriptor = load(file)->descriptor;
    } catch (const UsageError& e) {
      listing.error = e.what();
    }
    out.push_back(std::move(listing));
  }
  return out;
}

namespace {

// Creates an object through a plugin factory and ties the plugin's library (and its Host) to the
// object's lifetime: the object's code lives in that library.
template <typename T, typename Factory>
std::shared_ptr<T> create(const Factory& factory, const sdk::PluginConfig& config,
                          const std::shared_ptr<boost::dll::shared_library>& library, event_base* loop,
                          sdk::Side side, const std::string& plugin_name, const std::string& what,
                          const fs::path& file) {
  auto host = std::make_shared<PluginHost>(loop, plugin_name, side);
  std::unique_ptr<T> object;
  try {
    object = factory.create(config, *host);
  } catch (const sdk::Error& e) {
    throw UsageError(what + " (plugin " + plugin_name + "): " + e.what());
  } catch (const std::exception& e) {
    throw UsageError(what + " (plugin " + plugin_name + ", " + file.string() + ") failed to start: " + e.what());
  }
  if (!object) throw UsageError(what + " (plugin " + plugin_name + ") returned nothing");
  T* raw = object.release();
  return std::shared_ptr<T>(raw, [library, host](T* p) { delete p; });
}

}  // namespace

std::shared_ptr<sdk::TokenSource> PluginLoader::token_source(const std::string& name, const sdk::PluginConfig& config) {
  auto loaded = load(find(Kind::token_source, name));
  for (const auto& f : loaded->descriptor->token_sources)
    if (normalize_name(f.name) == normalize_name(name))
      return create<sdk::TokenSource>(f, config, loaded->library, loop_, side_, loaded->descriptor->name,
                                      "token source \"" + name + "\"", loaded->file);
  throw UsageError(loaded->file.string() + ": plugin " + loaded->descriptor->name + " marks token source \"" + name +
                   "\" but its descriptor has no such factory");
}

std::shared_ptr<sdk::TokenParser> PluginLoader::token_parser(const std::string& name, const sdk::PluginConfig& config) {
  auto loaded = load(find(Kind::token_parser, name));
  for (const auto& f : loaded->descriptor->token_parsers)
    if (normalize_name(f.name) == normalize_name(name))
      return create<sdk::TokenParser>(f, config, loaded->library, loop_, side_, loaded->descriptor->name,
                                      "token parser \"" + name + "\"", loaded->file);
  throw UsageError(loaded->file.string() + ": plugin " + loaded->descriptor->name + " marks token parser \"" + name +
                   "\" but its descriptor has no such factory");
}

std::shared_ptr<sdk::Transport> PluginLoader::transport(const std::string& scheme, const sdk::PluginConfig& config) {
  auto loaded = load(find(Kind::transport, scheme));
  for (const auto& f : loaded->descriptor->transports)
    for (const auto& s : f.schemes)
      if (normalize_name(s) == normalize_name(scheme))
        return create<sdk::Transport>(f, config, loaded->library, loop_, side_, loaded->descriptor->name,
                                      "transport \"" + scheme + "\"", loaded->file);
  throw UsageError(loaded->file.string() + ": plugin " + loaded->descriptor->name + " marks transport \"" + scheme +
                   "\" but its descriptor has no such factory");
}

std::shared_ptr<sdk::CongestionControl> PluginLoader::congestion_control(const std::string& name,
                                                                       const sdk::PluginConfig& config) {
  auto loaded = load(find(Kind::congestion, name));
  for (const auto& f : loaded->descriptor->congestion_controls)
    if (normalize_name(f.name) == normalize_name(name))
      return create<sdk::CongestionControl>(f, config, loaded->library, loop_, side_, loaded->descriptor->name,
                                            "congestion controller \"" + name + "\"", loaded->file);
  throw UsageError(loaded->file.string() + ": plugin " + loaded->descriptor->name + " marks congestion controller \"" +
                   name + "\" but its descriptor has no such factory");
}

std::shared_ptr<sdk::Classifier> PluginLoader::classifier(const std::string& name, const sdk::PluginConfig& config) {
  auto loaded = load(find(Kind::classifier, name));
  for (const auto& f : loaded->descriptor->classifiers)
    if (normalize_name(f.name) == normalize_name(name))
      return create<sdk::Classifier>(f, config, loaded->library, loop_, side_, loaded->descriptor->name,
                                     "classifier \"" + name + "\"", loaded->file);
  throw UsageError(loaded->file.string() + ": plugin " + loaded->descriptor->name + " marks classifier \"" + name +
                   "\" but its descriptor has no such factory");
}

}  // namespace quictun::plugin
