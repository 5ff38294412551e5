// An MCP client of an mcp::Server in the same process, for unit tests: a session of the
// in-memory transport with its authenticated principal, initialized on connect, whose requests
// go straight to Server::handle and whose responses are waited for (bounded; a request that
// gets no response fails the test).
//
// Thread-safety: one test thread uses a client; several clients may share a server.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <utility>

#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"
#include "mcp/session.hpp"
#include "unit/recording_outbound.hpp"

namespace test_support {

class InProcessClient {
 public:
  InProcessClient() = default;
  // Attaches a session `sid` for `user` to `server` and initializes it (2025-11-25).
  InProcessClient(mcp::Server& server, const std::string& user, const std::string& sid)
      : server_(&server),
        session_(std::make_shared<mcp::Session>(sid, mcp::TransportKind::kInMemory)) {
    info_.principal = mcp::Principal{user, {}, {}};
    server.attach(session_);
    send(jsonio::parse_or_throw(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})"));
    send(jsonio::parse_or_throw(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  }

  // Hands `msg` to the server; the response (null for a notification).
  boost::json::value send(const boost::json::value& msg) {
    auto out = std::make_shared<RecordingOutbound>();
    server_->handle(session_, msg, out, info_);
    EXPECT_TRUE(out->wait()) << msg;
    return out->response;
  }

  // A request `method` with `params` and a fresh id; its whole response.
  boost::json::value request(const std::string& method, boost::json::object params) {
    return send(boost::json::object{
        {"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", method}, {"params", std::move(params)}});
  }

  // tools/call: the tool's result object (content, structuredContent, isError).
  boost::json::object call(const std::string& tool, boost::json::object args) {
    boost::json::value r = request("tools/call", {{"name", tool}, {"arguments", std::move(args)}});
    EXPECT_TRUE(r.as_object().contains("result")) << r;
    if (!r.as_object().contains("result")) return {};
    return r.at("result").as_object();
  }

 private:
  mcp::Server* server_ = nullptr;
  std::shared_ptr<mcp::Session> session_;
  mcp::MessageInfo info_;
  int next_id_ = 10;
};

}  // namespace test_support
