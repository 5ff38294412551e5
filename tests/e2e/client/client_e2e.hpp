// Helpers of the client's end-to-end tests: starting a server over stdio, and waiting (bounded)
// for what handlers see on the client's threads.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mcp/client.hpp"
#include "mcp/client_stdio.hpp"

namespace client_e2e {

using namespace std::chrono_literals;

inline std::unique_ptr<mcp::StdioClientTransport> stdio(std::string command,
                                                        std::vector<std::string> args = {},
                                                        std::string log_name = {}) {
  return std::make_unique<mcp::StdioClientTransport>(mcp::StdioClientOptions{
      .command = std::move(command), .args = std::move(args), .log_name = std::move(log_name)});
}

// Strings that handlers record on the client's threads; the test waits for them, bounded.
class Recorder {
 public:
  void add(std::string s) {
    {
      std::lock_guard lk(mu_);
      items_.push_back(std::move(s));
    }
    cv_.notify_all();
  }
  // Waits until at least `n` items arrived or `timeout` passed; returns the items.
  std::vector<std::string> wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, timeout, [&] { return items_.size() >= n; });
    return items_;
  }
  std::vector<std::string> items() {
    std::lock_guard lk(mu_);
    return items_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> items_;
};

// The text of a result's first text block.
inline std::string first_text(const mcp::CallToolResult& r) {
  for (const auto& b : r.content)
    if (b.is_object() && b.as_object().contains("text"))
      return std::string(b.as_object().at("text").as_string());
  return {};
}

}  // namespace client_e2e
