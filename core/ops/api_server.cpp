#include "ops/api_server.hpp"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "util/address.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

namespace quictun::ops {
namespace {

constexpr int kBacklog = 64;
constexpr mode_t kUnixMode = 0660;  // owner and group: access to the API is access to the file

bool equal_in_constant_time(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a)) return a.s6_addr[12] == 127;
  }
  return false;
}

void reply(evhttp_request* req, int code, const char* reason, const std::string& body,
           const char* type = "application/json") {
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", type);
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(req, code, reason, out);
  evbuffer_free(out);
}

template <class Json>
void reply_json(evhttp_request* req, int code, const char* reason, const Json& j) {
  reply(req, code, reason, j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

void reply_message(evhttp_request* req, int code, const char* reason, const std::string& message) {
  reply_json(req, code, reason, nlohmann::json{{"message", message}});
}

void not_allowed(evhttp_request* req, const char* allow, const std::string& message) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
  reply_message(req, 405, "Method Not Allowed", message);
}

}  // namespace

std::string load_api_token(const std::string& value, const std::string& origin, const std::string& base_dir) {
  if (value.rfind("file:", 0) != 0) {
    if (value.find_first_of(" \t\r\n") != std::string::npos)
      throw UsageError(origin + ": the API token must not contain spaces or line breaks");
    return value;
  }
  std::filesystem::path path = value.substr(5);
  if (path.empty()) throw UsageError(origin + ": \"file:\" names no file");
  if (path.is_relative() && !base_dir.empty()) path = std::filesystem::path(base_dir) / path;
  std::ifstream in(path);
  if (!in) throw UsageError(origin + ": cannot read API token file " + path.string() + ": " + errno_text(errno));
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  std::size_t start = line.find_first_not_of(" \t");
  line = start == std::string::npos ? std::string() : line.substr(start);
  if (line.empty()) throw UsageError(path.string() + ":1: the API token file's first line is empty");
  if (line.find_first_of(" \t") != std::string::npos)
    throw UsageError(path.string() + ":1: the API token must not contain spaces");
  return line;
}

ApiServer::ApiServer(event_base* loop, const config::CommonSettings& s, Sources sources)
    : sources_(std::move(sources)), http_(evhttp_new(loop)) {
  const std::string origin = s.api_listen_origin.empty() ? "--httpd-listen-on" : s.api_listen_origin;
  if (!http_) throw RuntimeError("cannot create the REST API server");
  if (!s.api_token.empty())
    token_ = load_api_token(s.api_token, s.api_token_origin.empty() ? "[api] token" : s.api_token_origin,
                            s.base_dir.string());
  bool loopback = true;
  int fd = -1;
  if (s.api_listen_on.rfind("unix:", 0) == 0) {
    fd = listen_unix(s.api_listen_on.substr(5), origin);
    address_ = s.api_listen_on;
  } else {
    fd = listen_tcp(s.api_listen_on, origin, loopback);
  }
  if (!evhttp_accept_socket_with_handle(http_.get(), fd)) {
    ::close(fd);
    throw RuntimeError(origin + ": cannot serve the REST API on " + s.api_listen_on);
  }
  // Every method reaches handle(), which answers quic-tun's 405 itself.
  evhttp_set_allowed_methods(http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                              EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
  evhttp_set_timeout(http_.get(), 30);
  evhttp_set_max_body_size(http_.get(), 64 * 1024);  // nothing we serve takes a body
  evhttp_set_max_headers_size(http_.get(), 16 * 1024);
  evhttp_set_gencb(http_.get(), &ApiServer::on_request, this);
  spdlog::info("REST API at {}{}", address_, token_.empty() ? "" : " (bearer token required)");
  if (!loopback && token_.empty())
    spdlog::warn("REST API on {} is reachable beyond this host and has NO TOKEN: anyone who can reach it can list "
                 "and close tunnels. Set [api] token (a bearer token, or file:/path holding one) or listen on "
                 "127.0.0.1 or unix:/path",
                 address_);
}

ApiServer::~ApiServer() {
  http_.reset();
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

int ApiServer::listen_unix(const std::string& path, const std::string& origin) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sun.sun_path)
    throw UsageError(origin + ": \"unix:" + path + "\": the socket path must be 1 to " +
                     std::to_string(sizeof sun.sun_path - 1) + " bytes");
  std::memcpy(sun.sun_path, path.data(), path.size());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw RuntimeError(origin + ": socket: " + errno_text(errno));
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw UsageError(origin + ": " + path + " exists and is not a socket");
    // A socket file nobody answers on is left over from an earlier run; a live one is not ours.
    Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0)
      throw RuntimeError(origin + ": " + path + " is in use by another program");
    ::unlink(path.c_str());
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0)
    throw RuntimeError(origin + ": cannot listen on unix:" + path + ": " + errno_text(errno));
  unix_path_ = path;
  if (::chmod(path.c_str(), kUnixMode) != 0 || ::listen(fd.get(), kBacklog) != 0)
    throw RuntimeError(origin + ": cannot listen on unix:" + path + ": " + errno_text(errno));
  return fd.release();
}

int ApiServer::listen_tcp(const std::string& text, const std::string& origin, bool& loopback) {
  HostPort hp = split_host_port(text, origin);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &res); rc != 0)
    throw UsageError(origin + ": \"" + text + "\": cannot resolve \"" + hp.host + "\": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(res, &::freeaddrinfo);
  Fd fd(::socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw RuntimeError(origin + ": socket: " + errno_text(errno));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd.get(), kBacklog) != 0)
    throw RuntimeError(origin + ": cannot listen on " + text + ": " + errno_text(errno));
  SocketAddress bound;
  bound.len = sizeof bound.storage;
  ::getsockname(fd.get(), bound.sa(), &bound.len);
  loopback = is_loopback(bound.sa());
  address_ = bound.to_string();
  return fd.release();
}

void ApiServer::on_request(evhttp_request* req, void* self) {
  try {
    static_cast<ApiServer*>(self)->handle(req);
  } catch (const std::exception& e) {
    spdlog::error("REST API: {}", e.what());
    reply_message(req, 500, "Internal Server Error", e.what());
  }
}

void ApiServer::handle(evhttp_request* req) {
  const evhttp_cmd_type method = evhttp_request_get_command(req);
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw_path = uri ? evhttp_uri_get_path(uri) : nullptr;
  std::string path = raw_path && *raw_path ? raw_path : "/";
  if (path.size() > 1 && path.back() == '/') path.pop_back();

  if (path == "/healthz") {
    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) return not_allowed(req, "GET", "Please use GET request method");
    return reply_json(req, 200, "OK", nlohmann::json{{"status", "ok"}, {"tunnels", sources_.tunnels.size()}});
  }
  if (!token_.empty()) {
    const char* auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!auth || !equal_in_constant_time(auth, "Bearer " + token_)) {
      evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
      return reply_message(req, 401, "Unauthorized", "a valid \"Authorization: Bearer <token>\" header is required");
    }
  }
  if (path == "/tunnels") {
    if (method != EVHTTP_REQ_GET) return not_allowed(req, "GET", "Please use GET request method");
    return reply_json(req, 200, "OK", sources_.tunnels.to_json());
  }
  if (path.rfind("/tunnels/", 0) == 0) {
    const std::string uuid = path.substr(9);
    if (method == EVHTTP_REQ_GET) {
      nlohmann::ordered_json t = sources_.tunnels.to_json(uuid);
      if (t.is_null()) return reply_message(req, 404, "Not Found", "Not found tunnel for uuid");
      return reply_json(req, 200, "OK", t);
    }
    if (method == EVHTTP_REQ_DELETE) {
      if (!sources_.tunnels.close(uuid)) return reply_message(req, 404, "Not Found", "Not found tunnel for uuid");
      spdlog::info("tunnel {} closed through the REST API", uuid);
      return reply_message(req, 200, "OK", "tunnel closed");
    }
    return not_allowed(req, "GET, DELETE", "Please use GET or DELETE request method");
  }
  if (constexpr std::string_view suffix = "/close_tunnel";
      path.size() > suffix.size() + 1 && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0) {
    // quic-tun's own spelling: PUT /{uuid}/close_tunnel, an empty body on success.
    if (method != EVHTTP_REQ_PUT) return not_allowed(req, "PUT", "Please use PUT request method");
    const std::string uuid = path.substr(1, path.size() - suffix.size() - 1);
    if (!sources_.tunnels.close(uuid)) return reply_message(req, 404, "Not Found", "Not found tunnel for uuid");
    spdlog::info("tunnel {} closed through the REST API", uuid);
    return reply(req, 200, "OK", "");
  }
  if (path == "/connections") {
    if (method != EVHTTP_REQ_GET) return not_allowed(req, "GET", "Please use GET request method");
    return reply_json(req, 200, "OK", sources_.connections());
  }
  if (path == "/metrics") {
    if (method != EVHTTP_REQ_GET) return not_allowed(req, "GET", "Please use GET request method");
    return reply(req, 200, "OK", sources_.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  }
  reply_message(req, 404, "Not Found", "no such resource: " + path);
}

}  // namespace quictun::ops
