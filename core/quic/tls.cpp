#include "quic/tls.hpp"

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include "util/error.hpp"
#include "util/random.hpp"

namespace quictun::quic {
namespace {

// HMAC-SHA256 keyed by the key file's bytes over a fixed label: the secret is as private as the
// key itself and one-way, so reset tokens reveal nothing of the key.
std::array<std::uint8_t, 32> derive_reset_secret(const std::string& key_file) {
  std::ifstream in(key_file, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw RuntimeError("cannot read key file \"" + key_file + "\"");
  static constexpr char kLabel[] = "quictun stateless reset secret v1";
  std::array<std::uint8_t, 32> out{};
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key.data(), key.size(), kLabel, sizeof kLabel - 1, out.data()) != 0)
    throw RuntimeError("cannot derive the stateless reset secret from \"" + key_file + "\"");
  std::fill(key.begin(), key.end(), '\0');
  return out;
}

// TLS 1.3 only, the AEADs QUIC defines, and no middlebox compatibility mode (QUIC forbids it).
constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1:"
    "%DISABLE_TLS13_COMPAT_MODE";

void check(int rc, const std::string& what) {
  if (rc < 0) throw RuntimeError(what + ": " + gnutls_strerror(rc));
}

void check_file(int rc, const std::string& what, const std::string& file) {
  if (rc < 0) throw UsageError(what + " \"" + file + "\": " + gnutls_strerror(rc));
}

// Parses the certificate file on its own before the credentials take it: GnuTLS 3.7's
// gnutls_certificate_set_x509_key_file leaks the certificate it was decoding when the PEM is
// broken (LeakSanitizer shows it on every SIGHUP with a bad file), and a reload must not leak.
void check_certificate_file(const std::string& file) {
  gnutls_datum_t data{};
  check_file(gnutls_load_file(file.c_str(), &data), "cannot load certificate/key", file);
  gnutls_x509_crt_t* list = nullptr;
  unsigned n = 0;
  const int rc = gnutls_x509_crt_list_import2(&list, &n, &data, GNUTLS_X509_FMT_PEM, 0);
  gnutls_free(data.data);
  for (unsigned i = 0; i < n; ++i) gnutls_x509_crt_deinit(list[i]);
  gnutls_free(list);
  check_file(rc, "cannot load certificate/key", file);
}

// Empty credentials, freed with their last user (a handshake may outlive a reload).
std::shared_ptr<gnutls_certificate_credentials_st> new_credentials() {
  gnutls_certificate_credentials_t raw = nullptr;
  check(gnutls_certificate_allocate_credentials(&raw), "TLS credentials");
  return {raw, gnutls_certificate_free_credentials};
}

// Our own certificate and key (--cert-file, --key-file), if given: both or neither.
void add_key_pair(gnutls_certificate_credentials_t raw, const std::string& cert_file, const std::string& key_file) {
  if (cert_file.empty() != key_file.empty()) throw UsageError("--cert-file and --key-file must be given together");
  if (cert_file.empty()) return;
  check_certificate_file(cert_file);
  check_file(gnutls_certificate_set_x509_key_file(raw, cert_file.c_str(), key_file.c_str(), GNUTLS_X509_FMT_PEM),
             "cannot load certificate/key", cert_file + "\" / \"" + key_file);
}

// The CAs a peer's certificate must chain to (--ca-file); a file with none is an error.
void add_trust_file(gnutls_certificate_credentials_t raw, const std::string& ca_file) {
  int n = gnutls_certificate_set_x509_trust_file(raw, ca_file.c_str(), GNUTLS_X509_FMT_PEM);
  check_file(n, "cannot load CA file", ca_file);
  if (n == 0) throw UsageError("CA file \"" + ca_file + "\" holds no certificate");
}

gnutls_datum_t datum(const char* text) {
  gnutls_datum_t d;
  d.data = reinterpret_cast<unsigned char*>(const_cast<char*>(text));
  d.size = static_cast<unsigned>(std::strlen(text));
  return d;
}

// Our protocols in order of preference: the ARQ extension first when allowed.
void set_alpn(gnutls_session_t s, bool arq, unsigned flags) {
  gnutls_datum_t list[2] = {datum(alpn_protocol_arq), datum(alpn_protocol)};
  check(gnutls_alpn_set_protocols(s, arq ? list : list + 1, arq ? 2 : 1, flags), "ALPN");
}

bool selected_is(gnutls_session_t s, const char* protocol) {
  gnutls_datum_t selected;
  if (gnutls_alpn_get_selected_protocol(s, &selected) != 0) return false;
  return selected.size == std::strlen(protocol) && std::memcmp(selected.data, protocol, selected.size) == 0;
}

// GnuTLS accepts a ClientHello without ALPN even when ALPN is mandatory; refuse it here so a
// non-quic-tun client cannot complete a handshake.
int require_alpn_hook(gnutls_session_t session, unsigned, unsigned, unsigned, const gnutls_datum_t*) {
  gnutls_datum_t selected;
  if (gnutls_alpn_get_selected_protocol(session, &selected) != 0) return GNUTLS_E_NO_APPLICATION_PROTOCOL;
  return 0;
}

// A fresh self-signed ECDSA P-256 certificate, so a server with no files still speaks TLS.
void add_generated_certificate(gnutls_certificate_credentials_t cred) {
  gnutls_x509_privkey_t key = nullptr;
  gnutls_x509_crt_t crt = nullptr;
  struct Cleanup {
    gnutls_x509_privkey_t& k;
    gnutls_x509_crt_t& c;
    ~Cleanup() {
      if (c) gnutls_x509_crt_deinit(c);
      if (k) gnutls_x509_privkey_deinit(k);
    }
  } cleanup{key, crt};
  check(gnutls_x509_privkey_init(&key), "generate key");
  check(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
        "generate key");
  check(gnutls_x509_crt_init(&crt), "generate certificate");
  check(gnutls_x509_crt_set_version(crt, 3), "certificate version");
  unsigned char serial[16];
  random_bytes(serial, GNUTLS_RND_NONCE);
  serial[0] &= 0x7f;
  check(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), "certificate serial");
  std::time_t now = std::time(nullptr);
  check(gnutls_x509_crt_set_activation_time(crt, now - 3600), "certificate time");
  check(gnutls_x509_crt_set_expiration_time(crt, now + 365L * 24 * 3600), "certificate time");
  check(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "quictun", 7), "certificate name");
  check(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_SET),
        "certificate name");
  check(gnutls_x509_crt_set_key(crt, key), "certificate key");
  check(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE), "certificate usage");
  check(gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0), "sign certificate");
  check(gnutls_certificate_set_x509_key(cred, &crt, 1, key), "use generated certificate");
}

}  // namespace

std::string TlsSession::peer_certificate_subject() const {
  unsigned n = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session_, &n);
  if (!certs || n == 0) return {};
  gnutls_x509_crt_t crt;
  if (gnutls_x509_crt_init(&crt) < 0) return {};
  std::string out;
  if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0) {
    gnutls_datum_t dn{};
    if (gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
      out.assign(reinterpret_cast<char*>(dn.data), dn.size);
      gnutls_free(dn.data);
    }
  }
  gnutls_x509_crt_deinit(crt);
  return out;
}

bool TlsSession::alpn_ok() const {
  return selected_is(session_, alpn_protocol) || selected_is(session_, alpn_protocol_arq);
}

bool TlsSession::alpn_arq() const { return selected_is(session_, alpn_protocol_arq); }

namespace {

// The server's certificate, key and client CA, read from the files (or generated) afresh.
std::shared_ptr<gnutls_certificate_credentials_st> load_server_credentials(const TlsServerOptions& options) {
  std::shared_ptr<gnutls_certificate_credentials_st> cred = new_credentials();
  gnutls_certificate_credentials_t raw = cred.get();
  add_key_pair(raw, options.cert_file, options.key_file);
  if (options.cert_file.empty()) add_generated_certificate(raw);
  if (options.require_client_cert) {
    if (options.ca_file.empty())
      throw UsageError("--verify-remote-endpoint needs --ca-file to verify client certificates");
    add_trust_file(raw, options.ca_file);
  }
  return cred;
}

}  // namespace

TlsServerContext::TlsServerContext(const TlsServerOptions& options)
    : options_(options), cred_(load_server_credentials(options)), require_client_cert_(options.require_client_cert),
      generated_(options.cert_file.empty()) {
  if (generated_)
    random_bytes(reset_secret_, GNUTLS_RND_KEY);
  else
    reset_secret_ = derive_reset_secret(options.key_file);
  check(gnutls_priority_init(&priority_, kPriority, nullptr), "TLS priority");
}

TlsServerContext::~TlsServerContext() {
  if (priority_) gnutls_priority_deinit(priority_);
}

bool TlsServerContext::reload(std::string& error) {
  if (generated_) return true;  // nothing on disk to re-read; a new certificate would only break pinning clients
  try {
    cred_ = load_server_credentials(options_);
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

std::unique_ptr<TlsSession> TlsServerContext::new_session(ngtcp2_crypto_conn_ref* ref, bool arq) const {
  gnutls_session_t s = nullptr;
  check(gnutls_init(&s, GNUTLS_SERVER | GNUTLS_ENABLE_EARLY_DATA | GNUTLS_NO_AUTO_SEND_TICKET |
                            GNUTLS_NO_END_OF_EARLY_DATA),
        "TLS session");
  auto session = std::make_unique<TlsSession>(s);
  check(gnutls_priority_set(s, priority_), "TLS priority");
  if (ngtcp2_crypto_gnutls_configure_server_session(s) != 0) throw RuntimeError("cannot configure TLS for QUIC");
  gnutls_session_set_ptr(s, ref);
  check(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred_.get()), "TLS credentials");
  session->keep_alive(cred_);  // a reload must not free what this handshake still uses
  if (require_client_cert_) {
    gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(s, nullptr, 0);
  }
  set_alpn(s, arq, GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE);
  gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST, require_alpn_hook);
  return session;
}

namespace {

// The client's trust store and its own certificate, read from the files afresh.
std::shared_ptr<gnutls_certificate_credentials_st> load_client_credentials(const TlsClientOptions& options) {
  std::shared_ptr<gnutls_certificate_credentials_st> cred = new_credentials();
  gnutls_certificate_credentials_t raw = cred.get();
  if (options.verify_server) {
    if (!options.ca_file.empty()) {
      add_trust_file(raw, options.ca_file);
    } else {
      int n = gnutls_certificate_set_x509_system_trust(raw);
      if (n <= 0) throw UsageError("no system trust store found: give --ca-file, or --insecure-skip-verify to test");
    }
  }
  add_key_pair(raw, options.cert_file, options.key_file);
  return cred;
}

}  // namespace

TlsClientContext::TlsClientContext(const TlsClientOptions& options)
    : cred_(load_client_credentials(options)), options_(options) {
  check(gnutls_priority_init(&priority_, kPriority, nullptr), "TLS priority");
}

TlsClientContext::~TlsClientContext() {
  if (priority_) gnutls_priority_deinit(priority_);
}

bool TlsClientContext::reload(std::string& error) {
  try {
    cred_ = load_client_credentials(options_);
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

std::unique_ptr<TlsSession> TlsClientContext::new_session(ngtcp2_crypto_conn_ref* ref, bool arq) const {
  gnutls_session_t s = nullptr;
  check(gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA), "TLS session");
  auto session = std::make_unique<TlsSession>(s);
  check(gnutls_priority_set(s, priority_), "TLS priority");
  if (ngtcp2_crypto_gnutls_configure_client_session(s) != 0) throw RuntimeError("cannot configure TLS for QUIC");
  gnutls_session_set_ptr(s, ref);
  check(gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred_.get()), "TLS credentials");
  session->keep_alive(cred_);
  set_alpn(s, arq, GNUTLS_ALPN_MANDATORY);
  if (!options_.server_name.empty()) {
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, options_.server_name.data(), options_.server_name.size());
  }
  if (options_.verify_server) {
    gnutls_session_set_verify_cert(s, options_.server_name.empty() ? nullptr : options_.server_name.c_str(), 0);
  }
  return session;
}

}  // namespace quictun::quic
