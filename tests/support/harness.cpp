#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace quictun::test {
namespace fs = std::filesystem;

std::string bin_path(const std::string& program) { return std::string(QUICTUN_TEST_BIN_DIR) + "/" + program; }
std::string plugin_dir() { return QUICTUN_TEST_PLUGIN_DIR; }

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "quictun-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Process::Process(std::vector<std::string> argv, std::string log_path) : log_path_(std::move(log_path)) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
}

Process::~Process() {
  if (!exited_ && pid_ > 0) {
    stop(SIGTERM);
    if (wait_exit(3s) == -1) {
      kill(pid_, SIGKILL);
      wait_exit(3s);
    }
  }
}

std::string Process::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Process::running() {
  if (exited_) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exited_ = true;
    status_ = status;
    return false;
  }
  return true;
}

bool Process::wait_for_log(const std::string& text, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (log().find(text) != std::string::npos) return true;
    if (!const_cast<Process*>(this)->running()) return log().find(text) != std::string::npos;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

int Process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exited_) {
    if (!running()) break;
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

void Process::stop(int sig) {
  if (!exited_ && pid_ > 0) kill(pid_, sig);
}

std::pair<int, std::string> run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  TempDir dir;
  std::string log = dir.file("out.log");
  Process p(argv, log);
  int code = p.wait_exit(timeout);
  return {code, p.log()};
}

namespace {
int free_port(int type) {
  int fd = socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}
}  // namespace

int free_tcp_port() { return free_port(SOCK_STREAM); }
int free_udp_port() { return free_port(SOCK_DGRAM); }

int connect_tcp(int port, const std::string& host) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int connect_unix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int listen_tcp(int port, const std::string& host) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 1024) != 0)
    throw std::runtime_error("listen_tcp: " + std::string(std::strerror(errno)));
  return fd;
}

int listen_unix(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 1024) != 0)
    throw std::runtime_error("listen_unix: " + std::string(std::strerror(errno)));
  return fd;
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(&out[i], &v, 8);
  }
  for (; i < n; ++i) out[i] = static_cast<char>(rng());
  return out;
}

std::string sha256(const std::string& data) {
  unsigned char digest[32];
  gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data(), data.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void set_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

std::string read_all(int fd, std::chrono::milliseconds timeout, bool* eof) {
  std::string out;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + timeout;
  if (eof) *eof = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      return out;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      if (eof) *eof = true;
      return out;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
}

std::string send_and_read(int fd, const std::string& data, std::chrono::milliseconds timeout) {
  if (fd < 0) return "<connect failed>";
  write_all(fd, data.data(), data.size());
  shutdown(fd, SHUT_WR);
  std::string got = read_all(fd, timeout);
  close(fd);
  return got;
}

Backend::Backend(int listen_fd, std::function<void(int)> handler) : listen_fd_(listen_fd), handler_(std::move(handler)) {
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++accepted_;
      workers_.emplace_back([this, fd] {
        handler_(fd);
        close(fd);
      });
    }
  });
}

Backend::~Backend() {
  stop_ = true;
  thread_.join();
  for (auto& w : workers_) w.join();
  close(listen_fd_);
}

SilentListener::SilentListener() : port_(free_tcp_port()), listener_(listen_tcp(port_)) {
  ::listen(listener_, 0);
  for (int i = 0; i < 4; ++i) {
    int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers_.push_back(f);
  }
  std::this_thread::sleep_for(100ms);  // let the fillers' handshakes take the queue
}

SilentListener::~SilentListener() {
  for (int f : fillers_) close(f);
  close(listener_);
}

void echo_handler(int fd) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    if (!write_all(fd, buf, static_cast<std::size_t>(n))) return;
  }
  shutdown(fd, SHUT_WR);
}

Tunnel::Tunnel(const TempDir& dir, const TunnelSetup& setup) : dir_(dir), setup_(setup), udp_port_(free_udp_port()) {
  static std::atomic<int> instances{0};
  instance_ = instances++;  // each Tunnel logs to its own files
  start_server();
  client_listen_ = setup.client_listen;
  if (client_listen_.empty()) {
    client_port_ = free_tcp_port();
    client_listen_ = "tcp:127.0.0.1:" + std::to_string(client_port_);
  }
  std::vector<std::string> args = {bin_path("quictun-client"), "--listen-on", client_listen_, "--server-endpoint",
                                   "127.0.0.1:" + std::to_string(udp_port_), "--plugin-dir", plugin_dir(),
                                   "--log-level", "debug"};
  bool has_trust = false;
  for (const auto& a : setup.client_args) {
    args.push_back(a);
    if (a.rfind("--ca-file", 0) == 0 || a.rfind("--insecure-skip-verify", 0) == 0) has_trust = true;
  }
  if (!has_trust) args.push_back("--insecure-skip-verify");
  client_ = std::make_unique<Process>(args, dir.file("client" + std::to_string(instance_) + ".log"));
  if (!client_->wait_for_log("listening on"))
    throw std::runtime_error("quictun-client did not start:\n" + client_->log());
}

void Tunnel::start_server() {
  std::vector<std::string> args = {bin_path("quictun-server"), "--listen-on", "127.0.0.1:" + std::to_string(udp_port_),
                                   "--plugin-dir", plugin_dir(), "--log-level", "debug"};
  for (const auto& a : setup_.server_args) args.push_back(a);
  server_ = std::make_unique<Process>(args, dir_.file("server" + std::to_string(instance_) + "-" + std::to_string(server_starts_++) + ".log"));
  if (!server_->wait_for_log("listening on UDP"))
    throw std::runtime_error("quictun-server did not start:\n" + server_->log());
}

void Tunnel::restart_server() {
  server_.reset();
  start_server();
}

int Tunnel::connect() const {
  if (client_listen_.rfind("unix:", 0) == 0) return connect_unix(client_listen_.substr(5));
  return connect_tcp(client_port_);
}

}  // namespace quictun::test
