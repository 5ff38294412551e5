// An mcp::Outbound for tests that hand messages to mcp::Server::handle directly: it records the
// notifications and requests the server sends, the final response with its HTTP status, and
// whether the request ended without a response (accepted, or abandoned when cancelled). wait()
// blocks, bounded, until the request has ended one of those ways.
//
// Thread-safety: the server's threads call the Outbound methods while the test waits; the
// public fields are for the test to read once wait() (or wait_sent()) has returned.
#pragma once

#include <atomic>
#include <boost/json/value.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "jsonio/json_text.hpp"
#include "mcp/session.hpp"

namespace test_support {

class RecordingOutbound : public mcp::Outbound {
 public:
  bool send(std::string text) override {
    std::lock_guard lk(mu_);
    sent.push_back(jsonio::parse_or_throw(text));
    cv_.notify_all();
    return open;
  }
  void respond(std::string text, int status) override {
    std::lock_guard lk(mu_);
    response = jsonio::parse_or_throw(text);
    http_status = status;
    if (on_respond) on_respond();
    done = true;
    cv_.notify_all();
  }
  void accepted() override {
    std::lock_guard lk(mu_);
    was_accepted = done = true;
    cv_.notify_all();
  }
  void abandon() override {
    std::lock_guard lk(mu_);
    abandoned = done = true;
    cv_.notify_all();
  }

  // Whether the request ended within `t`.
  bool wait(std::chrono::milliseconds t = std::chrono::seconds(10)) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, t, [&] { return done; });
  }
  // Whether at least `n` messages were sent within `t`.
  bool wait_sent(std::size_t n, std::chrono::milliseconds t = std::chrono::seconds(5)) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, t, [&] { return sent.size() >= n; });
  }
  std::size_t sent_count() {
    std::lock_guard lk(mu_);
    return sent.size();
  }
  // A copy of what was sent so far, safe while the server may still send.
  std::vector<boost::json::value> sent_so_far() {
    std::lock_guard lk(mu_);
    return sent;
  }

  std::vector<boost::json::value> sent;  // notifications and server->client requests
  boost::json::value response;           // the final response, once done
  int http_status = 0;                   // the status respond() was given
  bool done = false, was_accepted = false, abandoned = false;
  std::atomic<bool> open{true};      // what send() returns: false = the peer is gone
  std::function<void()> on_respond;  // runs inside respond(), before wait() returns

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace test_support
