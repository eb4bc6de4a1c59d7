// Test harness: real processes, real sockets. Starts quictun-server / quictun-client and
// in-process backends, and moves and checks bytes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace quictun::test {

using namespace std::chrono_literals;

std::string bin_path(const std::string& program);  // build/bin/<program>
std::string plugin_dir();                           // build/plugins

// A fresh directory under /tmp, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A child process whose stdout+stderr go to a log file. Killed (SIGTERM, then SIGKILL) at destruction.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  std::string log() const;
  // Waits until the log contains `text`; false on timeout or if the process exited first.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout = 10s) const;
  // Waits for the process to exit; returns its exit code, or -1 on timeout.
  int wait_exit(std::chrono::milliseconds timeout = 10s);
  void stop(int sig = 15);
  bool running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  int status_ = -1;
  bool exited_ = false;
};

// Runs a program to completion; returns {exit code, output}.
std::pair<int, std::string> run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 20s);

int free_tcp_port();
int free_udp_port();

int connect_tcp(int port, const std::string& host = "127.0.0.1");  // blocking socket, -1 on failure
int connect_unix(const std::string& path);
int listen_tcp(int port, const std::string& host = "127.0.0.1");
int listen_unix(const std::string& path);

std::string random_bytes(std::size_t n, std::uint64_t seed);
std::string sha256(const std::string& data);
bool write_all(int fd, const char* data, std::size_t size);
// Reads until EOF (or error, or timeout); returns what was read.
std::string read_all(int fd, std::chrono::milliseconds timeout = 60s, bool* eof = nullptr);
void set_timeout(int fd, std::chrono::milliseconds timeout);
// On a connected socket (or -1: "<connect failed>"): sends `data`, half-closes, reads until the
// peer ends the connection, closes, and returns what came back.
std::string send_and_read(int fd, const std::string& data, std::chrono::milliseconds timeout = 30s);

// A backend server on its own thread: accepts connections and runs `handler(fd)` for each on
// its own thread, then closes the fd.
class Backend {
 public:
  Backend(int listen_fd, std::function<void(int)> handler);
  ~Backend();
  int accepted() const { return accepted_.load(); }

 private:
  int listen_fd_;
  std::function<void(int)> handler_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<std::thread> workers_;
};

// A TCP port on loopback whose connects neither succeed nor fail: its accept queue is full, so
// further SYNs are dropped and only the connecting side's own timeout ends the wait.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int port_;
  int listener_;
  std::vector<int> fillers_;  // the connections that fill the queue
};

// Handlers
void echo_handler(int fd);  // echo until EOF, then shut down the write side

// quictun-server and quictun-client on loopback with a generated certificate.
struct TunnelSetup {
  std::vector<std::string> server_args;  // extra flags
  std::vector<std::string> client_args;  // extra flags; must include --token-source etc.
  std::string client_listen;              // default tcp:127.0.0.1:<free port>
};

class Tunnel {
 public:
  Tunnel(const TempDir& dir, const TunnelSetup& setup);
  int udp_port() const { return udp_port_; }
  int client_port() const { return client_port_; }
  const std::string& client_listen() const { return client_listen_; }
  Process& server() { return *server_; }
  Process& client() { return *client_; }
  void restart_server();
  // Connects to the client's listener.
  int connect() const;

 private:
  void start_server();
  const TempDir& dir_;
  TunnelSetup setup_;
  int udp_port_;
  int client_port_ = -1;
  std::string client_listen_;
  std::unique_ptr<Process> server_;
  std::unique_ptr<Process> client_;
  int server_starts_ = 0;
  int instance_ = 0;
};

}  // namespace quictun::test
