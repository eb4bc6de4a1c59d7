// The traffic classifiers a program runs on its tunnels: the ones the configuration names
// (`[plugins] classifiers`, `--classifier`), in that order, all created at start-up.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "plugin/loader.hpp"

namespace quictun::plugin {

class ClassifierSet {
 public:
  struct Entry {
    std::string name;                            // as configured
    std::shared_ptr<sdk::Classifier> classifier;
    std::size_t budget = 0;                      // its budget(), capped at kMaxBudget
  };
  static constexpr std::size_t kMaxBudget = 65536;  // bytes per direction, whatever a plugin asks

  ClassifierSet() = default;  // none: tunnels are not classified
  // Creates every classifier `settings` names with its [classifier.<name>] table. Throws
  // UsageError prefixed with where the list was written, naming the classifier.
  ClassifierSet(PluginLoader& loader, const config::CommonSettings& settings);
  // Classifiers made elsewhere (tests); budgets are taken from them as above.
  explicit ClassifierSet(std::vector<Entry> entries);

  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }
  // The largest budget: how many bytes per direction a tunnel keeps while undecided.
  std::size_t budget() const { return budget_; }

 private:
  std::vector<Entry> entries_;
  std::size_t budget_ = 0;
};

}  // namespace quictun::plugin
