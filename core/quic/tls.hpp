// TLS 1.3 for QUIC through GnuTLS: credentials (contexts) and per-connection sessions. The
// QUIC code never calls GnuTLS except through this module.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace quictun::quic {

inline constexpr const char* alpn_protocol = "quic-tun";  // WIRE.md: both sides, both programs
// Offered before alpn_protocol by a quictun peer that can repair loss below QUIC (link/arq.hpp). A
// server that selects it speaks quic-tun's protocol plus the ARQ shim; any other server (the Go
// quic-tun among them) selects plain "quic-tun".
inline constexpr const char* alpn_protocol_arq = "quictun-arq/1";

struct TlsServerOptions {
  std::string cert_file;              // PEM certificate chain; empty: generate a self-signed one
  std::string key_file;               // PEM private key for cert_file
  std::string ca_file;                // trust store for client certificates (mTLS)
  bool require_client_cert = false;   // --verify-remote-endpoint
};

struct TlsClientOptions {
  std::string server_name;            // SNI and the name the certificate must carry
  std::string ca_file;                // empty: the system trust store
  bool verify_server = true;          // false only with --insecure-skip-verify
  std::string cert_file;              // client certificate for mTLS (optional)
  std::string key_file;
};

// Owns one gnutls_session_t.
class TlsSession {
 public:
  explicit TlsSession(gnutls_session_t s) : session_(s) {}
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  ~TlsSession() { if (session_) gnutls_deinit(session_); }
  gnutls_session_t get() const { return session_; }
  // Subject DN of the peer's certificate, or "" when it sent none.
  std::string peer_certificate_subject() const;
  // True when ALPN negotiated alpn_protocol or alpn_protocol_arq.
  bool alpn_ok() const;
  bool alpn_arq() const;  // alpn_protocol_arq was negotiated
  // Holds `resource` (the credentials the session was given) until the session is gone.
  void keep_alive(std::shared_ptr<void> resource) { keep_alive_ = std::move(resource); }

 private:
  gnutls_session_t session_ = nullptr;
  std::shared_ptr<void> keep_alive_;  // destroyed after gnutls_deinit (member order)
};

class TlsServerContext {
 public:
  explicit TlsServerContext(const TlsServerOptions& options);  // throws UsageError / RuntimeError
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // `arq`: also offer (client) / accept (server) alpn_protocol_arq.
  std::unique_ptr<TlsSession> new_session(ngtcp2_crypto_conn_ref* ref, bool arq) const;
  bool generated_certificate() const { return generated_; }
  // Re-reads the certificate, key and CA files (SIGHUP). New handshakes use them; open
  // connections keep theirs. On failure the old ones stay and `error` says why.
  bool reload(std::string& error);
  // 32 bytes derived from the private key (random with a generated certificate): stateless
  // reset tokens made from it are the same after a restart, so a restarted server can tell the
  // clients of its previous life that their connections are gone. A reload (SIGHUP) keeps it.
  const std::array<std::uint8_t, 32>& reset_secret() const { return reset_secret_; }

 private:
  TlsServerOptions options_;
  std::shared_ptr<gnutls_certificate_credentials_st> cred_;
  gnutls_priority_t priority_ = nullptr;
  bool require_client_cert_ = false;
  bool generated_ = false;
  std::array<std::uint8_t, 32> reset_secret_{};
};

class TlsClientContext {
 public:
  explicit TlsClientContext(const TlsClientOptions& options);  // throws UsageError / RuntimeError
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  // `arq`: also offer (client) / accept (server) alpn_protocol_arq.
  std::unique_ptr<TlsSession> new_session(ngtcp2_crypto_conn_ref* ref, bool arq) const;
  // Re-reads the CA and client certificate files (SIGHUP) for the next handshakes; on failure
  // the old ones stay and `error` says why.
  bool reload(std::string& error);

 private:
  std::shared_ptr<gnutls_certificate_credentials_st> cred_;
  gnutls_priority_t priority_ = nullptr;
  TlsClientOptions options_;
};

}  // namespace quictun::quic
