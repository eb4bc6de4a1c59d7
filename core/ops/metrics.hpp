// A registry of Prometheus metrics, rendered in the text exposition format (version 0.0.4).
// A plain object: the program owns one and hands it to whoever counts. Values are doubles, as
// Prometheus keeps them; counters only go up.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace quictun::ops {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  // One sample of a family; cheap to copy, valid as long as the Metrics object.
  class Value {
   public:
    Value() = default;
    void inc(double n = 1) { if (v_) *v_ += n; }
    void set(double v) { if (v_) *v_ = v; }
    double get() const { return v_ ? *v_ : 0; }

   private:
    friend class Metrics;
    explicit Value(double* v) : v_(v) {}
    double* v_ = nullptr;
  };

  // Declares (or finds) the family `name` and one sample of it. A counter's name ends in _total.
  Value counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Value gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // Drops every sample of a family (per-connection gauges whose connections are gone). Only for
  // families a collector refills on each render: a Value kept elsewhere would dangle.
  void clear(const std::string& name);
  // Runs before each render, to refresh what is read from live state.
  void on_collect(std::function<void(Metrics&)> collector) { collectors_.push_back(std::move(collector)); }
  std::string render();

 private:
  struct Family {
    std::string help;
    const char* type;
    std::map<std::string, std::unique_ptr<double>> samples;  // by rendered label set; pointers stay put
  };
  Value sample(const std::string& name, const std::string& help, const char* type, const Labels& labels);

  std::map<std::string, Family> families_;
  std::vector<std::function<void(Metrics&)>> collectors_;
};

}  // namespace quictun::ops
