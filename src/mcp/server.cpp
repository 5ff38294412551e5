// mcp::Server: construction and shutdown, and the transport interface. The registries, the
// dispatcher and the methods live in the files server_impl.hpp lists.
#include "mcp/server.hpp"

#include "jsonio/json_text.hpp"
#include "server_impl.hpp"

namespace mcp {

namespace bj = boost::json;

Server::Server(ServerOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(*this, options_)) {}

Server::~Server() {
  shutdown();
}

void Server::shutdown() {
  if (!impl_) return;
  if (impl_->tasks) impl_->tasks->shutdown();  // tasks end first: their handlers may be running
  if (impl_->pool) impl_->pool->stop();
  impl_->deadlines.stop();
}

bool Server::wait_idle(std::chrono::milliseconds timeout) {
  return impl_->pool->wait_idle(timeout);
}

void Server::handle(const std::shared_ptr<Session>& session, json message,
                    const std::shared_ptr<Outbound>& out, const MessageInfo& info) {
  impl_->handle(session, std::move(message), out, info);
}

bool Server::is_modern_message(const json& m) {
  const bj::object* o = m.if_object();
  if (!o) return false;
  const bj::object* p = detail::member_object(*o, "params");
  if (!p) return false;
  const bj::object* meta = detail::member_object(*p, "_meta");
  return meta && meta->contains(detail::kMetaVersion);
}

std::string Server::error_response(const json& id, int code, std::string_view message,
                                   const json& data) {
  bj::object err{{"code", code}, {"message", message}};
  if (!data.is_null()) err["data"] = data;
  std::string s = "{\"jsonrpc\":\"2.0\",\"id\":";
  jsonio::write(id, s);
  s += ",\"error\":";
  jsonio::write(err, s);
  s += '}';
  return s;
}

}  // namespace mcp
