// A text file that is re-read when it changes, polled on the host's event loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <quictun/sdk.hpp>

namespace quictun::token_file {

// Polling instead of inotify: it also sees a file replaced through a symlink swap (Kubernetes
// ConfigMaps) or on a network filesystem, and one stat() a second costs nothing.
class WatchedFile {
 public:
  // Parses `text` and, only if all of it is valid, installs the result; returns the number of
  // entries for the log. Throws sdk::Error("path:line: why") and leaves the old table otherwise.
  using Loader = std::function<std::size_t(const std::string& text)>;

  // Loads the file now (throwing sdk::Error when it is unreadable or malformed), then checks it
  // every `interval` on host.loop() (never when interval is 0).
  WatchedFile(sdk::Host& host, std::filesystem::path path, std::chrono::milliseconds interval, Loader loader);
  WatchedFile(const WatchedFile&) = delete;
  WatchedFile& operator=(const WatchedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Looks at the file once; called by the timer, public so that a caller may force a check.
  void check();
  // Reads the file now if it changed, without waiting for it to hold still (SIGHUP: the operator
  // says the file is ready). Errors are logged and the old table kept, as for check().
  void reload_now();

 private:
  // What tells two versions of the file apart without reading it.
  struct Identity {
    unsigned long long device = 0, inode = 0;
    long long size = 0;
    long long mtime_ns = 0, ctime_ns = 0;
    bool operator==(const Identity&) const = default;
  };

  // Reads the whole file; throws sdk::Error naming the path. `before` receives the identity
  // seen before reading.
  std::string read(Identity& before) const;
  bool identity(Identity& out, int& error) const;

  sdk::Host& host_;
  std::filesystem::path path_;
  Loader loader_;
  Identity loaded_;          // the version last parsed, good or bad (a bad one is not retried)
  Identity seen_{};  // what the previous tick saw: a change loads only once it held still for a tick
  bool unreadable_ = false;  // the last check could not stat the file (logged once, not every tick)
  sdk::EventPtr timer_;      // persistent; null when reloading is off
};

}  // namespace quictun::token_file
