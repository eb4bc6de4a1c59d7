// RAII handles for libevent objects, and a helper to bind member functions to events.
#pragma once

#include <event2/buffer.h>
#include <event2/event.h>

#include <functional>
#include <memory>

namespace quictun {

struct EventBaseDeleter { void operator()(event_base* b) const { event_base_free(b); } };
struct EventDeleter { void operator()(event* e) const { event_free(e); } };
struct EvbufferDeleter { void operator()(evbuffer* b) const { evbuffer_free(b); } };

using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EventPtr = std::unique_ptr<event, EventDeleter>;
using EvbufferPtr = std::unique_ptr<evbuffer, EvbufferDeleter>;

// An event that calls a std::function; owns both, so the callback can never outlive the event.
class Event {
 public:
  using Callback = std::function<void(short what)>;

  Event() = default;
  Event(event_base* base, int fd, short what, Callback cb) { assign(base, fd, what, std::move(cb)); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  void assign(event_base* base, int fd, short what, Callback cb) {
    callback_ = std::make_unique<Callback>(std::move(cb));
    ev_.reset(event_new(base, fd, what, &Event::trampoline, callback_.get()));
  }
  void reset() { ev_.reset(); callback_.reset(); }
  explicit operator bool() const { return static_cast<bool>(ev_); }

  void add() { event_add(ev_.get(), nullptr); }
  void add_timeout_ns(uint64_t ns) {
    timeval tv{static_cast<time_t>(ns / 1000000000ull), static_cast<suseconds_t>((ns % 1000000000ull) / 1000)};
    event_add(ev_.get(), &tv);
  }
  void add_timeout_ms(uint64_t ms) { add_timeout_ns(ms * 1000000ull); }
  void del() { if (ev_) event_del(ev_.get()); }
  bool pending(short what = EV_READ | EV_WRITE | EV_TIMEOUT) const {
    return ev_ && event_pending(ev_.get(), what, nullptr);
  }
  // Runs the callback from the loop soon, outside the current call stack.
  void activate(short what = EV_TIMEOUT) { if (!event_pending(ev_.get(), EV_TIMEOUT, nullptr)) event_active(ev_.get(), what, 0); }

 private:
  static void trampoline(evutil_socket_t, short what, void* arg) { (*static_cast<Callback*>(arg))(what); }
  std::unique_ptr<Callback> callback_;
  EventPtr ev_;
};

}  // namespace quictun
