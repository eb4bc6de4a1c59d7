#include "app/logging.hpp"

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>
#include <vector>

#include "util/error.hpp"
#include "util/log_fields.hpp"

namespace quictun::app {
namespace {

constexpr auto kDumpErrors = nlohmann::json::error_handler_t::replace;  // log text is not always UTF-8

std::string level_name(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "TRACE";
    case spdlog::level::debug: return "DEBUG";
    case spdlog::level::info: return "INFO";
    case spdlog::level::warn: return "WARN";
    case spdlog::level::err: return "ERROR";
    case spdlog::level::critical: return "FATAL";
    default: return "OFF";
  }
}

// quic-tun's time layout: local time to the millisecond ("2006-01-02 15:04:05.000").
std::string timestamp(spdlog::log_clock::time_point t) {
  using namespace std::chrono;
  std::time_t secs = spdlog::log_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count() % 1000;
  std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms));
  return buf;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json line;
    line["timestamp"] = timestamp(msg.time);
    line["level"] = level_name(msg.level);
    line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    line["message"] = std::string(msg.payload.data(), msg.payload.size());
    if (const nlohmann::json* fields = current_log_fields(); fields && fields->is_object())
      for (const auto& [k, v] : fields->items())
        if (!line.contains(k)) line[k] = v;
    std::string text = line.dump(-1, ' ', false, kDumpErrors);
    text.push_back('\n');
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// quictun's own layout, with the event's fields after the message.
class ConsoleFormatter final : public spdlog::formatter {
 public:
  explicit ConsoleFormatter(std::string name)
      : name_(std::move(name)),
        pattern_("%Y-%m-%d %H:%M:%S.%e " + name_ + " %l: %v", spdlog::pattern_time_type::local, "") {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    pattern_.format(msg, dest);
    if (const nlohmann::json* fields = current_log_fields(); fields && fields->is_object()) {
      for (const auto& [k, v] : fields->items()) {
        std::string text = " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, kDumpErrors));
        dest.append(text.data(), text.data() + text.size());
      }
    }
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<ConsoleFormatter>(name_); }

 private:
  std::string name_;
  spdlog::pattern_formatter pattern_;
};

spdlog::sink_ptr open_sink(const std::string& path, const std::string& origin) {
  if (path == "stdout") return std::make_shared<spdlog::sinks::stdout_sink_mt>();
  if (path == "stderr") return std::make_shared<spdlog::sinks::stderr_sink_mt>();
  std::string file = path.rfind("file://", 0) == 0 ? path.substr(7) : path;  // zap takes file URLs too
  try {
    return std::make_shared<spdlog::sinks::basic_file_sink_mt>(file, false);
  } catch (const spdlog::spdlog_ex& e) {
    throw UsageError(origin + ": cannot open log file \"" + file + "\": " + e.what());
  }
}

// Where the logger's own failures are written (zap's ErrorOutputPaths).
struct ErrorOutputs {
  std::vector<std::FILE*> files;
  ~ErrorOutputs() {
    for (std::FILE* f : files)
      if (f != stdout && f != stderr) std::fclose(f);
  }
};

std::shared_ptr<ErrorOutputs> open_error_outputs(const std::vector<std::string>& paths, const std::string& origin) {
  auto out = std::make_shared<ErrorOutputs>();
  for (const auto& p : paths.empty() ? std::vector<std::string>{"stderr"} : paths) {
    if (p == "stdout") { out->files.push_back(stdout); continue; }
    if (p == "stderr") { out->files.push_back(stderr); continue; }
    std::string file = p.rfind("file://", 0) == 0 ? p.substr(7) : p;
    std::FILE* f = std::fopen(file.c_str(), "a");
    if (!f) throw UsageError(origin + ": cannot open log file \"" + file + "\": " + errno_text(errno));
    out->files.push_back(f);
  }
  return out;
}

}  // namespace

void setup_logging(const std::string& program, const config::CommonSettings& s) {
  std::vector<spdlog::sink_ptr> sinks;
  const std::string out_origin = s.log_output_origin.empty() ? "--log-output-paths" : s.log_output_origin;
  for (const auto& p : s.log_output_paths.empty() ? std::vector<std::string>{"stderr"} : s.log_output_paths)
    sinks.push_back(open_sink(p, out_origin));
  auto errors = open_error_outputs(
      s.log_error_output_paths, s.log_error_output_origin.empty() ? "--log-error-output-paths" : s.log_error_output_origin);
  const std::string name = s.log_name.empty() ? program : s.log_name;
  auto logger = std::make_shared<spdlog::logger>(name, sinks.begin(), sinks.end());
  if (s.log_format == "json")
    logger->set_formatter(std::make_unique<JsonFormatter>());
  else
    logger->set_formatter(std::make_unique<ConsoleFormatter>(name));
  logger->set_level(spdlog::level::from_str(s.log_level));
  logger->flush_on(spdlog::level::trace);
  logger->set_error_handler([errors, name](const std::string& what) {
    for (std::FILE* f : errors->files) {
      std::fprintf(f, "%s: logging failed: %s\n", name.c_str(), what.c_str());
      std::fflush(f);
    }
  });
  spdlog::set_default_logger(logger);
}

}  // namespace quictun::app
