#include "app/main_common.hpp"

#include <iostream>

#include "app/plugin_dirs.hpp"
#include "util/error.hpp"

namespace quictun::app {

int run_program(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 2;
  } catch (const sdk::Error& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 1;
  }
}

std::vector<std::filesystem::path> plugin_dirs_for(const config::CommonSettings& settings) {
  return settings.plugin_dirs.empty() ? default_plugin_dirs() : settings.plugin_dirs;
}

namespace {

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace

int list_plugins(const config::CommonSettings& settings, event_base* loop, sdk::Side side, std::ostream& out) {
  plugin::PluginLoader loader(plugin_dirs_for(settings), loop, side);
  std::vector<std::string> dirs;
  for (const auto& d : loader.dirs()) dirs.push_back(d.string());
  out << "plugin dirs: " << (dirs.empty() ? "none" : joined(dirs, ", ")) << "\n";
  auto listings = loader.load_all();
  if (listings.empty()) out << "no plugins found\n";
  for (const auto& listing : listings) {
    out << "\n";
    if (!listing.descriptor) {
      // Most load errors already start with the file's name.
      std::string prefix = listing.file.string() + ": ";
      std::string reason = listing.error.rfind(prefix, 0) == 0 ? listing.error.substr(prefix.size()) : listing.error;
      out << prefix << "not loaded: " << reason << "\n";
      continue;
    }
    const sdk::PluginDescriptor& d = *listing.descriptor;
    out << d.name << " " << d.version << " (" << listing.file.string() << ")\n";
    if (!d.description.empty()) out << "  " << d.description << "\n";
    for (const auto& f : d.token_sources) out << "  token source " << f.name << ": " << f.help << "\n";
    for (const auto& f : d.token_parsers) out << "  token parser " << f.name << ": " << f.help << "\n";
    for (const auto& f : d.transports) out << "  transport " << joined(f.schemes, ", ") << ": " << f.help << "\n";
    for (const auto& f : d.congestion_controls) out << "  congestion controller " << f.name << ": " << f.help << "\n";
    for (const auto& f : d.classifiers) out << "  classifier " << f.name << ": " << f.help << "\n";
  }
  for (const auto& s : loader.skipped()) out << "\n" << s << ": ignored\n";
  return 0;
}

}  // namespace quictun::app
