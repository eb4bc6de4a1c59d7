#include "http.hpp"

#include <http_parser.h>

#include <cctype>
#include <string>
#include <string_view>

namespace quictun::classifier_http {
namespace {

// What the parser's callbacks collect from one request head. Each value may arrive in pieces.
struct Head {
  std::string url;
  std::string host;
  std::string field;           // the header name being read
  bool in_host = false;        // the value being read belongs to Host
  bool host_seen = false;      // a Host header was read (the first one counts)
  bool request_line = false;   // the request line is complete
  bool complete = false;       // the whole head was read
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string trim(std::string s) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && space(s[start])) ++start;
  return s.substr(start);
}

Head& head_of(http_parser* p) { return *static_cast<Head*>(p->data); }

int on_url(http_parser* p, const char* at, std::size_t n) {
  head_of(p).url.append(at, n);
  return 0;
}

int on_header_field(http_parser* p, const char* at, std::size_t n) {
  Head& h = head_of(p);
  h.request_line = true;
  if (h.in_host) {  // the Host value before this field is whole
    h.in_host = false;
    h.host_seen = true;
  }
  h.field.append(at, n);
  return 0;
}

int on_header_value(http_parser* p, const char* at, std::size_t n) {
  Head& h = head_of(p);
  if (!h.field.empty()) {
    h.in_host = !h.host_seen && iequals(h.field, "host");
    h.field.clear();
  }
  if (h.in_host) h.host.append(at, n);
  return 0;
}

int on_headers_complete(http_parser* p) {
  Head& h = head_of(p);
  h.request_line = true;
  h.complete = true;
  if (h.in_host) h.host_seen = true;
  http_parser_pause(p, 1);  // the body is not ours to read
  return 0;
}

std::string part(const std::string& url, const http_parser_url& u, int field) {
  if (!(u.field_set & (1 << field))) return {};
  return url.substr(u.field_data[field].off, u.field_data[field].len);
}

}  // namespace

sdk::ClassifierVerdict HttpClassifier::classify(const sdk::TrafficSample& sample) {
  // An HTTP client speaks first (server bytes seen before its own prove nothing: the host does
  // not keep the order between the two directions).
  if (sample.client_to_server.empty())
    return sample.client_final ? sdk::ClassifierVerdict::not_mine() : sdk::ClassifierVerdict::need_more();
  Head head;
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &head;
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_url = on_url;
  settings.on_header_field = on_header_field;
  settings.on_header_value = on_header_value;
  settings.on_headers_complete = on_headers_complete;
  http_parser_execute(&parser, &settings, sample.client_to_server.data(), sample.client_to_server.size());
  const auto error = HTTP_PARSER_ERRNO(&parser);
  if (error != HPE_OK && error != HPE_PAUSED) return sdk::ClassifierVerdict::not_mine();
  if (!head.request_line) {
    return sample.client_final ? sdk::ClassifierVerdict::not_mine() : sdk::ClassifierVerdict::need_more();
  }
  sdk::Properties props;
  props.push_back({"method", http_method_str(static_cast<http_method>(parser.method))});
  std::string host = trim(head.host);
  std::string path = head.url;
  http_parser_url u;
  http_parser_url_init(&u);
  const bool connect = parser.method == HTTP_CONNECT;
  if (http_parser_parse_url(head.url.data(), head.url.size(), connect ? 1 : 0, &u) == 0) {
    if (!connect) path = part(head.url, u, UF_PATH);
    if (host.empty()) host = part(head.url, u, UF_HOST);
  }
  if (head.complete || head.host_seen || !host.empty()) props.push_back({"host", host});
  props.push_back({"path", path});
  props.push_back({"version", std::to_string(parser.http_major) + "." + std::to_string(parser.http_minor)});
  if (head.complete) return sdk::ClassifierVerdict::mine("http", std::move(props));
  // The request line is HTTP; the headers (Host) may still come.
  return sdk::ClassifierVerdict::mine_so_far("http", std::move(props));
}

}  // namespace quictun::classifier_http
