#include "client_hello.hpp"

#include <cstdint>

namespace quictun::classifier_tls {
namespace {

constexpr std::uint8_t kHandshakeRecord = 22;
constexpr std::uint8_t kClientHelloType = 1;
constexpr std::size_t kMaxRecord = 16384 + 2048;  // RFC 8446 5.2 ciphertext bound; plaintext is smaller
constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;
constexpr std::uint16_t kExtSupportedVersions = 43;

// Reads a structure whose declared end is `end`; bytes at or past `available` have not arrived.
class Reader {
 public:
  enum class Status { ok, truncated, malformed };
  Reader(std::string_view data, std::size_t begin, std::size_t end) : data_(data), pos_(begin), end_(end) {}

  Status status() const { return status_; }
  bool ok() const { return status_ == Status::ok; }
  bool at_end() const { return pos_ >= end_; }

  std::uint64_t number(std::size_t bytes) {
    if (!take(bytes)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = v << 8 | static_cast<unsigned char>(data_[pos_ - bytes + i]);
    return v;
  }
  std::string_view bytes(std::size_t n) {
    if (!take(n)) return {};
    return data_.substr(pos_ - n, n);
  }
  // A vector with a `length_bytes` length prefix, as a reader of its own.
  Reader vector(std::size_t length_bytes) {
    std::uint64_t n = number(length_bytes);
    if (!ok()) return failed();
    if (n > end_ - pos_) {
      status_ = Status::malformed;
      return failed();
    }
    Reader inner(data_, pos_, pos_ + static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return inner;
  }
  void skip_vector(std::size_t length_bytes) { absorb(vector(length_bytes).rest_status()); }
  // Everything left of this structure; truncated if not all of it arrived.
  std::string_view rest() { return bytes(end_ - pos_); }
  // An inner reader's failure becomes ours.
  void absorb(const Reader& inner) { absorb(inner.status_); }
  void absorb(Status inner) {
    if (status_ == Status::ok) status_ = inner;
  }
  // Whether all of this structure arrived, without reading it.
  Status rest_status() const {
    if (status_ != Status::ok) return status_;
    return end_ > data_.size() ? Status::truncated : Status::ok;
  }

 private:
  bool take(std::size_t n) {
    if (status_ != Status::ok) return false;
    if (n > end_ - pos_) {
      status_ = Status::malformed;
      return false;
    }
    if (pos_ + n > data_.size()) {
      status_ = Status::truncated;
      return false;
    }
    pos_ += n;
    return true;
  }
  Reader failed() const {
    Reader r(data_, pos_, pos_);
    r.status_ = status_;
    return r;
  }

  std::string_view data_;
  std::size_t pos_;
  std::size_t end_;
  Status status_ = Status::ok;
};

std::string version_text(std::uint16_t v) {
  switch (v) {
    case 0x0304: return "1.3";
    case 0x0303: return "1.2";
    case 0x0302: return "1.1";
    case 0x0301: return "1.0";
    case 0x0300: return "ssl3";
    default: return {};
  }
}

bool is_version(std::uint16_t v) { return v >= 0x0300 && v <= 0x0304; }  // GREASE values are not

void read_server_name(Reader& ext, ClientHello& hello) {
  Reader list = ext.vector(2);
  while (list.ok() && !list.at_end()) {
    std::uint64_t type = list.number(1);
    Reader name = list.vector(2);
    std::string_view host = name.rest();
    list.absorb(name);
    // Only a whole name is kept: half of one would name another host.
    if (list.ok() && type == 0 && hello.server_name.empty()) hello.server_name = std::string(host);
  }
  ext.absorb(list);
}

void read_alpn(Reader& ext, ClientHello& hello) {
  Reader list = ext.vector(2);
  while (list.ok() && !list.at_end()) {
    Reader proto = list.vector(1);
    std::string_view value = proto.rest();
    list.absorb(proto);
    if (list.ok() && !value.empty()) hello.alpn.emplace_back(value);
  }
  ext.absorb(list);
}

void read_supported_versions(Reader& ext, ClientHello& hello) {
  Reader list = ext.vector(1);
  std::uint16_t best = 0;
  while (list.ok() && !list.at_end()) {
    auto v = static_cast<std::uint16_t>(list.number(2));
    if (list.ok() && is_version(v) && v > best) best = v;
  }
  ext.absorb(list);
  if (best) hello.version = version_text(best);
}

// The ClientHello body: `body` ends where the handshake header says.
Reader::Status read_body(Reader& body, ClientHello& hello) {
  auto legacy = static_cast<std::uint16_t>(body.number(2));
  if (body.ok()) hello.version = version_text(legacy);
  body.bytes(32);        // random
  body.skip_vector(1);   // legacy_session_id
  body.skip_vector(2);   // cipher_suites
  body.skip_vector(1);   // legacy_compression_methods
  if (!body.ok()) return body.status();
  if (body.at_end()) return Reader::Status::ok;  // a TLS 1.2 hello may have no extensions
  Reader extensions = body.vector(2);
  while (extensions.ok() && !extensions.at_end()) {
    auto type = static_cast<std::uint16_t>(extensions.number(2));
    Reader ext = extensions.vector(2);
    if (!extensions.ok()) break;
    if (type == kExtServerName) read_server_name(ext, hello);
    else if (type == kExtAlpn) read_alpn(ext, hello);
    else if (type == kExtSupportedVersions) read_supported_versions(ext, hello);
    extensions.absorb(ext);
    extensions.absorb(ext.rest_status());  // an extension it skips must have arrived too
  }
  body.absorb(extensions);
  return body.status();
}

}  // namespace

ClientHello read_client_hello(std::string_view bytes) {
  ClientHello hello;
  // The handshake message, put together from the records' payloads as far as they arrived.
  std::string handshake;
  std::size_t at = 0;
  while (at < bytes.size()) {
    std::string_view header = bytes.substr(at, 5);
    // Judge each header byte as soon as it is there: a non-TLS stream is refused at once.
    if (header[0] != kHandshakeRecord) {
      hello.state = at == 0 ? ClientHello::State::not_tls : ClientHello::State::malformed;
      return hello;
    }
    if (header.size() >= 2 && header[1] != 3) {
      hello.state = at == 0 ? ClientHello::State::not_tls : ClientHello::State::malformed;
      return hello;
    }
    if (header.size() >= 3 && static_cast<unsigned char>(header[2]) > 4) {
      hello.state = at == 0 ? ClientHello::State::not_tls : ClientHello::State::malformed;
      return hello;
    }
    if (header.size() < 5) break;
    std::size_t length = static_cast<unsigned char>(header[3]) << 8 | static_cast<unsigned char>(header[4]);
    if (length == 0 || length > kMaxRecord) {
      hello.state = at == 0 ? ClientHello::State::not_tls : ClientHello::State::malformed;
      return hello;
    }
    std::string_view payload = bytes.substr(at + 5, length);
    handshake.append(payload);
    at += 5 + length;
    if (payload.size() < length) break;
    // Enough records once the handshake message is whole.
    if (handshake.size() >= 4) {
      std::size_t message = static_cast<unsigned char>(handshake[1]) << 16 |
                            static_cast<unsigned char>(handshake[2]) << 8 | static_cast<unsigned char>(handshake[3]);
      if (handshake.size() >= 4 + message) break;
    }
  }
  if (handshake.empty()) return hello;  // need_more
  if (handshake[0] != kClientHelloType) {
    hello.state = ClientHello::State::not_tls;
    return hello;
  }
  if (handshake.size() < 4) {
    hello.state = ClientHello::State::truncated;
    return hello;
  }
  std::size_t message = static_cast<unsigned char>(handshake[1]) << 16 |
                        static_cast<unsigned char>(handshake[2]) << 8 | static_cast<unsigned char>(handshake[3]);
  Reader body(handshake, 4, 4 + message);
  Reader::Status status = read_body(body, hello);
  if (status == Reader::Status::malformed) hello.state = ClientHello::State::malformed;
  else if (status == Reader::Status::truncated) hello.state = ClientHello::State::truncated;
  else if (!body.at_end()) hello.state = ClientHello::State::malformed;  // bytes after the extensions
  else hello.state = ClientHello::State::complete;
  return hello;
}

}  // namespace quictun::classifier_tls
