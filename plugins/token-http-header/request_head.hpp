// The head of one HTTP/1.x request, read incrementally with libhttp-parser.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <http_parser.h>

namespace quictun::token_http_header {

class RequestHead {
 public:
  enum class State { incomplete, complete, malformed };

  RequestHead();
  RequestHead(const RequestHead&) = delete;
  RequestHead& operator=(const RequestHead&) = delete;

  // Parses `bytes` past what earlier calls saw (the caller always passes everything received so
  // far) but never beyond `limit` bytes in total, so a huge head costs no more than the limit.
  State feed(std::string_view bytes, std::size_t limit);

  State state() const { return state_; }
  std::size_t consumed() const { return fed_; }
  // Bytes of the head, including the blank line that ends it (valid once complete).
  std::size_t head_size() const { return head_size_; }
  // Why parsing failed (valid once malformed).
  const std::string& error() const { return error_; }

  // Values of every header named `name` (case-insensitive), surrounding whitespace removed.
  std::vector<std::string> values(std::string_view name) const;

 private:
  static int on_header_field(http_parser* parser, const char* at, std::size_t length);
  static int on_header_value(http_parser* parser, const char* at, std::size_t length);
  static int on_headers_complete(http_parser* parser);
  void finish_header();

  http_parser parser_{};
  http_parser_settings settings_{};
  State state_ = State::incomplete;
  std::size_t fed_ = 0;        // bytes given to the parser so far
  std::size_t head_size_ = 0;  // set when complete
  std::string error_;
  std::string field_, value_;  // the header being read; both may arrive in pieces
  bool in_value_ = false;
  bool skipping_indent_ = false;     // inside the indentation of a folded line
  bool bad_field_ = false;           // a header name with characters RFC 9110 forbids
  const char* chunk_start_ = nullptr;  // where the bytes of the current feed() begin
  char before_chunk_ = '\0';          // the byte just before them
  std::vector<std::pair<std::string, std::string>> headers_;
};

bool iequals(std::string_view a, std::string_view b);
// A character allowed in a header name (RFC 9110 "tchar").
bool is_tchar(char c);
std::string_view trim(std::string_view text);

// `head` (a complete request head) without the header lines named `name`, continuation lines
// included; every other byte is kept as it was.
std::string without_header(std::string_view head, std::string_view name);

}  // namespace quictun::token_http_header
