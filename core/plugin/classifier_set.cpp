#include "plugin/classifier_set.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace quictun::plugin {

ClassifierSet::ClassifierSet(PluginLoader& loader, const config::CommonSettings& settings) {
  for (const auto& name : settings.classifiers) {
    const std::string where = settings.classifiers_origin.empty() ? std::string() : settings.classifiers_origin + ": ";
    if (name.empty()) throw UsageError(where + "empty classifier name");
    for (const auto& e : entries_)
      if (normalize_name(e.name) == normalize_name(name))
        throw UsageError(where + "classifier \"" + name + "\" is listed twice");
    Entry entry;
    entry.name = name;
    try {
      entry.classifier = loader.classifier(name, settings.plugin_config("classifier." + normalize_name(name), {}, {}));
    } catch (const UsageError& e) {
      throw UsageError(where + e.what());
    }
    entry.budget = std::clamp<std::size_t>(entry.classifier->budget(), 1, kMaxBudget);
    budget_ = std::max(budget_, entry.budget);
    entries_.push_back(std::move(entry));
  }
}

ClassifierSet::ClassifierSet(std::vector<Entry> entries) : entries_(std::move(entries)) {
  for (auto& e : entries_) {
    e.budget = std::clamp<std::size_t>(e.classifier->budget(), 1, kMaxBudget);
    budget_ = std::max(budget_, e.budget);
  }
}

}  // namespace quictun::plugin
