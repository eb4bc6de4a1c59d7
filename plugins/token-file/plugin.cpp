// Plugin "token-file": token source "file" (client address -> token) and token parser "file"
// (token -> backend), each backed by a text file that is re-read when it changes.
#include <quictun/sdk.hpp>

#include "address_table.hpp"
#include "backend_table.hpp"
#include "file_format.hpp"
#include "watched_file.hpp"

namespace quictun::token_file {

namespace {

class FileTokenSource final : public sdk::TokenSource {
 public:
  FileTokenSource(const sdk::PluginConfig& config, sdk::Host& host)
      : options_(read_file_options(config, "token source 'file'", "--token-source")),
        watched_(host, options_.path, options_.reload_interval, [this](const std::string& text) {
          table_ = AddressTable::parse(text, options_.path.string());
          return table_.size();
        }) {}

  void resolve(const sdk::ConnectionInfo& connection, std::string_view, bool, sdk::TokenCallback done) override {
    if (const std::string* token = table_.find(connection.peer_ip)) {
      done(sdk::TokenDecision::with_token(*token));
      return;
    }
    // peer_ip is formatted by the transport (inet_ntop), not bytes from the network.
    std::string who = connection.peer_ip.empty()
                          ? "UNIX-socket client on " + connection.listener + " (only a '*' line matches those)"
                          : "client " + connection.peer_ip;
    done(sdk::TokenDecision::refused("no line of " + options_.path.string() + " matches " + who));
  }

  void reload() override { watched_.reload_now(); }

 private:
  FileOptions options_;
  AddressTable table_;   // replaced whole by each good reload
  WatchedFile watched_;  // last: its timer must stop before the table goes
};

class FileTokenParser final : public sdk::TokenParser {
 public:
  FileTokenParser(const sdk::PluginConfig& config, sdk::Host& host)
      : options_(read_file_options(config, "token parser 'file'", "--token-parser-key")),
        watched_(host, options_.path, options_.reload_interval, [this](const std::string& text) {
          table_ = BackendTable::parse(text, options_.path.string());
          return table_.size();
        }) {}

  void parse(std::string_view token, const sdk::ClientInfo& client, sdk::ParseCallback done) override {
    if (const std::string* backend = table_.find(std::string(token))) {
      done(sdk::ParseDecision::accept(*backend));
      return;
    }
    // The token comes from the network: sdk::quote() keeps it from forging log lines.
    done(sdk::ParseDecision::refuse("token " + sdk::quote(token) + " from " + client.address + " is not listed in " +
                                    options_.path.string()));
  }

  void reload() override { watched_.reload_now(); }

 private:
  FileOptions options_;
  BackendTable table_;
  WatchedFile watched_;
};

sdk::PluginDescriptor describe() {
  sdk::PluginDescriptor d;
  d.name = "token-file";
  d.version = "0.1.0";
  d.description = "tokens by client address and backends by token, from files re-read when they change";
  d.token_sources.push_back({
      "file",
      "token by client address: PATH holds '<address or CIDR> <token>' lines, '*' is the default",
      [](const sdk::PluginConfig& config, sdk::Host& host) -> std::unique_ptr<sdk::TokenSource> {
        return std::make_unique<FileTokenSource>(config, host);
      },
  });
  d.token_parsers.push_back({
      "file",
      "backend by token: PATH holds '<token> <backend>' lines, e.g. 'ssh-prod tcp:10.0.0.5:22'",
      [](const sdk::PluginConfig& config, sdk::Host& host) -> std::unique_ptr<sdk::TokenParser> {
        return std::make_unique<FileTokenParser>(config, host);
      },
  });
  return d;
}

}  // namespace

}  // namespace quictun::token_file

QUICTUN_PLUGIN(quictun::token_file::describe)
QUICTUN_PLUGIN_PROVIDES(token_source, file)
QUICTUN_PLUGIN_PROVIDES(token_parser, file)
