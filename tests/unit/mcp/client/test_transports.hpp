// Transports for the client's unit tests, each honouring the ClientTransport contract (callbacks
// on a thread of the transport's own, never inside send(); closed() once, last):
//   ScriptedTransport   a fake server written as a function: each message the client sends
//                       goes to `script`, whose lines come back; the test may also push lines
//                       and hang up.
//   InProcessTransport  an mcp::Server of the test's, in this process (a Session of kind
//                       kInMemory), in either era.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "jsonio/json_text.hpp"
#include "mcp/client.hpp"
#include "mcp/server.hpp"
#include "mcp/session.hpp"

namespace client_test {

// A thread that delivers what the fake server says, in order.
class Deliverer {
 public:
  void start(mcp::ClientTransportCallbacks cb) {
    stop();
    std::lock_guard lk(mu_);
    cb_ = std::move(cb);
    stopped_ = false;
    closed_ = false;
    thread_ = std::thread([this] { run(); });
  }
  void message(std::string text) { post({Item::kMessage, std::move(text)}); }
  void hangup(std::string reason) { post({Item::kClose, std::move(reason)}); }
  void fail(boost::json::value id, std::exception_ptr e) {
    post({Item::kFail, {}, std::move(id), std::move(e)});
  }
  // Delivers closed(reason) unless it was delivered, and stops the thread.
  void stop(const std::string& reason = "closed by the client") {
    {
      std::lock_guard lk(mu_);
      if (!thread_.joinable()) return;
      items_.push_back({Item::kClose, reason});
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool closed() {
    std::lock_guard lk(mu_);
    return closed_;
  }

 private:
  struct Item {
    enum Kind { kMessage, kClose, kFail } kind;
    std::string text;
    boost::json::value id = nullptr;
    std::exception_ptr error = nullptr;
  };
  void post(Item i) {
    {
      std::lock_guard lk(mu_);
      items_.push_back(std::move(i));
    }
    cv_.notify_all();
  }
  void run() {
    for (;;) {
      Item i;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return !items_.empty(); });
        i = std::move(items_.front());
        items_.pop_front();
        if (closed_) {
          if (stopped_ && items_.empty()) return;
          continue;
        }
        if (i.kind == Item::kClose) closed_ = true;
      }
      if (i.kind == Item::kMessage) cb_.message(std::move(i.text));
      if (i.kind == Item::kFail) cb_.request_failed(i.id, i.error);
      if (i.kind == Item::kClose) {
        cb_.closed(i.text);
        std::lock_guard lk(mu_);
        if (stopped_ && items_.empty()) return;
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  bool stopped_ = false;
  bool closed_ = false;
  mcp::ClientTransportCallbacks cb_;
  std::thread thread_;
};

class ScriptedTransport : public mcp::ClientTransport {
 public:
  // Returns the lines the server answers `message` with (possibly none).
  using Script = std::function<std::vector<std::string>(const mcp::OutgoingMessage& message,
                                                        const boost::json::object& parsed)>;
  explicit ScriptedTransport(Script script, mcp::TransportKind kind = mcp::TransportKind::kStdio,
                             bool restartable = false)
      : script_(std::move(script)), kind_(kind), restartable_(restartable) {}
  ~ScriptedTransport() override { close(); }

  void start(mcp::ClientTransportCallbacks cb) override {
    ++starts_;
    out_.start(std::move(cb));
  }
  void send(mcp::OutgoingMessage m) override {
    if (out_.closed())
      throw mcp::ClientError(mcp::ClientError::Kind::kTransportClosed, "fake closed");
    boost::json::object parsed = jsonio::parse_or_throw(m.text).as_object();
    {
      std::lock_guard lk(mu_);
      sent_.push_back(m);
    }
    for (auto& line : script_(m, parsed)) {
      if (line == "HANGUP")
        out_.hangup("server hung up");
      else
        out_.message(std::move(line));
    }
  }
  void close() override { out_.stop(); }
  mcp::TransportKind kind() const override { return kind_; }
  bool restartable() const override { return restartable_; }
  std::string describe() const override { return "scripted"; }

  // What the server says unasked.
  void push(std::string line) { out_.message(std::move(line)); }
  void hangup(std::string reason) { out_.hangup(std::move(reason)); }
  void fail(boost::json::value id, std::exception_ptr e) { out_.fail(std::move(id), e); }
  std::vector<mcp::OutgoingMessage> sent() {
    std::lock_guard lk(mu_);
    return sent_;
  }
  int starts() const { return starts_; }

 private:
  Script script_;
  mcp::TransportKind kind_;
  bool restartable_;
  Deliverer out_;
  std::mutex mu_;
  std::vector<mcp::OutgoingMessage> sent_;
  std::atomic<int> starts_{0};
};

class InProcessTransport : public mcp::ClientTransport {
 public:
  explicit InProcessTransport(mcp::Server& server) : server_(server) {}
  ~InProcessTransport() override { close(); }

  void start(mcp::ClientTransportCallbacks cb) override {
    session_ = std::make_shared<mcp::Session>("in-process", mcp::TransportKind::kInMemory);
    out_ = std::make_shared<Out>(deliver_);
    session_->set_standalone(out_);
    server_.attach(session_);
    deliver_->start(std::move(cb));
  }
  void send(mcp::OutgoingMessage m) override {
    if (deliver_->closed())
      throw mcp::ClientError(mcp::ClientError::Kind::kTransportClosed, "in-process closed");
    {
      std::lock_guard lk(mu_);
      sent_.push_back(m);
    }
    server_.handle(session_, jsonio::parse_or_throw(m.text), out_);
  }
  void close() override {
    if (session_) {
      server_.detach(session_);
      session_.reset();
    }
    deliver_->stop();
  }
  mcp::TransportKind kind() const override { return mcp::TransportKind::kInMemory; }
  std::string describe() const override { return "in-process"; }
  std::vector<mcp::OutgoingMessage> sent() {
    std::lock_guard lk(mu_);
    return sent_;
  }

 private:
  // Shares the deliverer: a worker of the server's may answer after the transport is gone
  // (what it posts then is never delivered).
  class Out : public mcp::Outbound {
   public:
    explicit Out(std::shared_ptr<Deliverer> d) : d_(std::move(d)) {}
    bool send(std::string text) override {
      d_->message(std::move(text));
      return true;
    }
    void respond(std::string text, int) override {
      if (!text.empty()) d_->message(std::move(text));
    }

   private:
    std::shared_ptr<Deliverer> d_;
  };
  mcp::Server& server_;
  std::shared_ptr<Deliverer> deliver_ = std::make_shared<Deliverer>();
  std::shared_ptr<mcp::Session> session_;
  std::shared_ptr<Out> out_;
  std::mutex mu_;
  std::vector<mcp::OutgoingMessage> sent_;
};

inline std::string result_line(const boost::json::value& id, boost::json::value result) {
  return jsonio::to_string(
      boost::json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}
inline std::string error_line(const boost::json::value& id, int code, const char* message,
                              boost::json::value data = nullptr) {
  boost::json::object e{{"code", code}, {"message", message}};
  if (!data.is_null()) e["data"] = std::move(data);
  return jsonio::to_string(
      boost::json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(e)}});
}
// A legacy server's answers to the handshake: -32601 for server/discover, initialize at
// 2025-11-25; everything else goes to `rest`.
inline ScriptedTransport::Script legacy_server(ScriptedTransport::Script rest) {
  return [rest](const mcp::OutgoingMessage& m,
                const boost::json::object& o) -> std::vector<std::string> {
    if (m.method == "server/discover") return {error_line(m.id, -32601, "Method not found")};
    if (m.method == "initialize")
      return {result_line(
          m.id, boost::json::object{
                    {"protocolVersion", "2025-11-25"},
                    {"capabilities", boost::json::object{{"tools", boost::json::object{}}}},
                    {"serverInfo", boost::json::object{{"name", "scripted"}, {"version", "1"}}}})};
    if (m.kind != mcp::OutgoingMessage::Kind::kRequest) return {};
    return rest(m, o);
  };
}

}  // namespace client_test
