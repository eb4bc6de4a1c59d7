#include "request_head.hpp"

#include <algorithm>
#include <cctype>

namespace quictun::token_http_header {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view text) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

RequestHead::RequestHead() {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_header_field = &RequestHead::on_header_field;
  settings_.on_header_value = &RequestHead::on_header_value;
  settings_.on_headers_complete = &RequestHead::on_headers_complete;
}

int RequestHead::on_header_field(http_parser* parser, const char* at, std::size_t length) {
  auto* self = static_cast<RequestHead*>(parser->data);
  if (self->in_value_) self->finish_header();
  self->field_.append(at, length);
  return 0;
}

int RequestHead::on_header_value(http_parser* parser, const char* at, std::size_t length) {
  auto* self = static_cast<RequestHead*>(parser->data);
  // A value arrives in pieces at chunk boundaries and at folded (obs-fold) lines. A fold's piece
  // starts right after the line break; RFC 9112 reads the break and its indentation as one space.
  char before = at == self->chunk_start_ ? self->before_chunk_ : at[-1];
  if (self->in_value_ && before == '\n') {
    self->value_ += ' ';
    self->skipping_indent_ = true;
  }
  std::string_view piece(at, length);
  if (self->skipping_indent_) {
    while (!piece.empty() && (piece.front() == ' ' || piece.front() == '\t')) piece.remove_prefix(1);
    if (!piece.empty()) self->skipping_indent_ = false;
  }
  self->value_.append(piece);
  self->in_value_ = true;
  return 0;
}

int RequestHead::on_headers_complete(http_parser* parser) {
  auto* self = static_cast<RequestHead*>(parser->data);
  if (self->in_value_ || !self->field_.empty()) self->finish_header();
  // Stop at the end of the head: the body and pipelined requests are the backend's business.
  http_parser_pause(parser, 1);
  self->state_ = State::complete;
  return 0;
}

void RequestHead::finish_header() {
  // libhttp-parser lets spaces into names; RFC 9112 wants such a request refused, since proxies
  // disagree about what it means.
  if (field_.empty() || !std::all_of(field_.begin(), field_.end(), is_tchar)) bad_field_ = true;
  headers_.emplace_back(std::move(field_), std::string(trim(value_)));
  field_.clear();
  value_.clear();
  in_value_ = false;
  skipping_indent_ = false;
}

RequestHead::State RequestHead::feed(std::string_view bytes, std::size_t limit) {
  if (state_ != State::incomplete) return state_;
  std::size_t end = bytes.size() < limit ? bytes.size() : limit;
  if (end <= fed_) return state_;
  chunk_start_ = bytes.data() + fed_;
  before_chunk_ = fed_ > 0 ? bytes[fed_ - 1] : '\0';
  std::size_t parsed = http_parser_execute(&parser_, &settings_, bytes.data() + fed_, end - fed_);
  auto error = HTTP_PARSER_ERRNO(&parser_);
  if (bad_field_) {
    state_ = State::malformed;
    error_ = "invalid header name";
    return state_;
  }
  if (state_ == State::complete && parser_.http_major != 1) {
    state_ = State::malformed;
    error_ = "not an HTTP/1.x request";
    return state_;
  }
  if (state_ == State::complete) {
    // A pause inside on_headers_complete leaves the parser on the head's final '\n'.
    head_size_ = fed_ + parsed + 1;
    fed_ = head_size_;
    return state_;
  }
  fed_ += parsed;
  if (error != HPE_OK) {
    state_ = State::malformed;
    error_ = error == HPE_HEADER_OVERFLOW ? "request head too large" : http_errno_description(error);
  }
  return state_;
}

std::vector<std::string> RequestHead::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [field, value] : headers_) {
    if (iequals(field, name)) out.push_back(value);
  }
  return out;
}

std::string without_header(std::string_view head, std::string_view name) {
  std::string out;
  out.reserve(head.size());
  bool request_line = true;
  bool dropping = false;
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t newline = head.find('\n', pos);
    std::size_t end = newline == std::string_view::npos ? head.size() : newline + 1;
    std::string_view line = head.substr(pos, end - pos);
    pos = end;
    if (request_line) {
      request_line = false;
    } else if (line.front() == ' ' || line.front() == '\t') {
      if (dropping) continue;  // the continuation of a dropped header goes with it
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      dropping = iequals(trim(line.substr(0, colon)), name);
      if (dropping) continue;
    } else {
      dropping = false;  // the blank line that ends the head
    }
    out.append(line);
  }
  return out;
}

}  // namespace quictun::token_http_header
