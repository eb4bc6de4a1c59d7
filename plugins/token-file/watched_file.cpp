#include "watched_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <event2/event.h>
#include <sys/stat.h>

namespace quictun::token_file {

namespace {

// A token table is a few lines per client; anything this big is a wrong path (a log, /dev/zero).
constexpr long long max_file_bytes = 64ll << 20;

}  // namespace

WatchedFile::WatchedFile(sdk::Host& host, std::filesystem::path path, std::chrono::milliseconds interval,
                         Loader loader)
    : host_(host), path_(std::move(path)), loader_(std::move(loader)) {
  Identity before;
  std::string text = read(before);
  loader_(text);
  loaded_ = before;

  if (interval.count() > 0) {
    auto on_tick = [](evutil_socket_t, short, void* self) { static_cast<WatchedFile*>(self)->check(); };
    timer_.reset(event_new(host_.loop(), -1, EV_PERSIST, on_tick, this));
    if (!timer_) throw sdk::Error("cannot create the reload timer for " + path_.string());
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(interval.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((interval.count() % 1000) * 1000);
    if (event_add(timer_.get(), &tv) != 0) throw sdk::Error("cannot start the reload timer for " + path_.string());
  }
}

bool WatchedFile::identity(Identity& out, int& error) const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    error = errno;
    return false;
  }
  out.device = st.st_dev;
  out.inode = st.st_ino;
  out.size = st.st_size;
  out.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000ll + st.st_mtim.tv_nsec;
  out.ctime_ns = static_cast<long long>(st.st_ctim.tv_sec) * 1000000000ll + st.st_ctim.tv_nsec;
  if (!S_ISREG(st.st_mode)) {
    error = EINVAL;
    return false;
  }
  return true;
}

std::string WatchedFile::read(Identity& before) const {
  int error = 0;
  if (!identity(before, error)) {
    throw sdk::Error("cannot read " + path_.string() + ": " +
                     (error == EINVAL ? std::string("not a regular file") : std::strerror(error)));
  }
  if (before.size > max_file_bytes)
    throw sdk::Error("cannot read " + path_.string() + ": larger than " + std::to_string(max_file_bytes) + " bytes");
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw sdk::Error("cannot open " + path_.string() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw sdk::Error("cannot read " + path_.string());
  return std::move(text).str();
}

void WatchedFile::reload_now() {
  Identity now;
  int error = 0;
  if (identity(now, error)) seen_ = now;  // counts as having held still
  unreadable_ = false;
  loaded_ = {};  // the operator asked: read it even if it looks unchanged
  check();
}

void WatchedFile::check() {
  Identity now;
  int error = 0;
  if (!identity(now, error)) {
    if (!unreadable_) {
      host_.log(sdk::LogLevel::warn, "cannot check " + path_.string() + " (" +
                                         (error == EINVAL ? std::string("not a regular file") : std::strerror(error)) +
                                         "); keeping the table loaded before");
      unreadable_ = true;
    }
    return;
  }
  if (unreadable_) {
    unreadable_ = false;
    loaded_ = {};  // it came back: load it even if it looks like the old version
  }
  if (now == loaded_) return;
  // `generator > tokens.map` empties the file first and may write slowly: only a file that has
  // not changed for a whole tick is read, or a half-written table would replace a good one.
  if (!(now == seen_)) {
    seen_ = now;
    return;
  }

  Identity before;
  std::string text;
  try {
    text = read(before);
  } catch (const sdk::Error& e) {
    host_.log(sdk::LogLevel::error, std::string(e.what()) + "; keeping the table loaded before");
    loaded_ = now;
    return;
  }
  // A writer that is still busy would hand us half a file: wait until it holds still.
  Identity after;
  if (!identity(after, error) || !(after == before)) return;

  loaded_ = before;
  try {
    std::size_t entries = loader_(text);
    host_.log(sdk::LogLevel::info, "reloaded " + path_.string() + " (" + std::to_string(entries) + " entries)");
  } catch (const sdk::Error& e) {
    host_.log(sdk::LogLevel::error, std::string(e.what()) + "; keeping the table loaded before");
  }
}

}  // namespace quictun::token_file
