// stdio transport: a reader loop on stdin and one writer thread that batches queued messages
// into as few write(2) calls as possible (pipelined clients get many answers per syscall).
#include "mcp/stdio.hpp"

#include <errno.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "crypto.hpp"
#include "jsonio/json_text.hpp"
#include "thread_annotations.hpp"

namespace mcp {

namespace {

class StdioWriter : public Outbound {
 public:
  explicit StdioWriter(int fd) : fd_(fd), thread_([this] { run(); }) {}
  ~StdioWriter() override { close(); }

  bool send(std::string text) override { return enqueue(std::move(text)); }
  void respond(std::string text, int) override { enqueue(std::move(text)); }
  bool is_open() const override { return !broken_.load(); }

  // Flushes everything queued and stops the thread.
  void close() {
    {
      refcache_sync::Lock lk(mu_);
      if (closing_) return;
      closing_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  bool enqueue(std::string text) {
    if (broken_.load()) return false;
    text.push_back('\n');
    {
      refcache_sync::Lock lk(mu_);
      if (closing_) return false;
      queue_.push_back(std::move(text));
    }
    cv_.notify_one();
    return true;
  }

  void run() {
    std::deque<std::string> batch;
    std::string buf;
    for (;;) {
      {
        refcache_sync::UniqueLock lk(mu_);
        while (!closing_ && queue_.empty()) cv_.wait(lk.native());
        if (queue_.empty() && closing_) return;
        batch.swap(queue_);
      }
      buf.clear();
      for (auto& m : batch) {
        if (buf.size() + m.size() > (1u << 20) && !buf.empty()) {
          write_all(buf);
          buf.clear();
        }
        if (m.size() > (1u << 20)) {
          write_all(m);  // large message: no extra copy
        } else {
          buf += m;
        }
      }
      if (!buf.empty()) write_all(buf);
      batch.clear();
    }
  }

  void write_all(const std::string& s) {
    std::size_t off = 0;
    while (off < s.size() && !broken_.load()) {
      ssize_t n = ::write(fd_, s.data() + off, s.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        broken_.store(true);  // EPIPE: the client is gone
        return;
      }
      off += static_cast<std::size_t>(n);
    }
  }

  int fd_;
  refcache_sync::Mutex mu_;
  std::condition_variable cv_;  // something queued, or closing
  std::deque<std::string> queue_ GUARDED_BY(mu_);
  bool closing_ GUARDED_BY(mu_) = false;
  std::atomic<bool> broken_{false};
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

int serve_stdio(Server& server, const StdioOptions& opt) {
  if (opt.log_to_stderr) {
    // stdout belongs to the protocol: make sure nothing logged by us or the app lands there.
    auto logger = spdlog::get("mcp-stderr");
    if (!logger) {
      logger = spdlog::stderr_color_mt("mcp-stderr");
      logger->set_level(spdlog::default_logger()->level());
    }
    spdlog::set_default_logger(logger);
  }
  auto writer = std::make_shared<StdioWriter>(opt.out_fd);
  auto session = std::make_shared<Session>(crypto::random_hex(16), TransportKind::kStdio);
  session->set_standalone(writer);
  server.attach(session);

  std::string buf;
  buf.reserve(1 << 20);
  bool discarding = false;  // inside an over-long line
  std::vector<char> chunk(1 << 20);
  int rc = 0;
  jsonio::ParseLimits limits{.max_depth = opt.max_json_depth, .max_bytes = opt.max_message_bytes};

  auto handle_line = [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;
    std::error_code ec;
    boost::json::value msg = jsonio::parse(line, ec, limits);
    if (ec) {
      writer->respond(
          Server::error_response(nullptr, error_code::kParseError, "Parse error: " + ec.message()),
          400);
      return;
    }
    server.handle(session, std::move(msg), writer);
  };

  for (;;) {
    ssize_t n = ::read(opt.in_fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = 1;
      break;
    }
    if (n == 0) break;
    std::string_view data(chunk.data(), static_cast<std::size_t>(n));
    while (!data.empty()) {
      auto nl = data.find('\n');
      if (discarding) {
        if (nl == std::string_view::npos) {
          data = {};
          break;
        }
        discarding = false;
        data.remove_prefix(nl + 1);
        continue;
      }
      if (nl == std::string_view::npos) {
        buf.append(data);
        data = {};
        if (buf.size() > opt.max_message_bytes) {
          writer->respond(Server::error_response(nullptr, error_code::kParseError,
                                                 "Parse error: message too large"),
                          400);
          buf.clear();
          discarding = true;
        }
        break;
      }
      if (buf.empty()) {
        handle_line(data.substr(0, nl));  // common case: the whole line is in this chunk
      } else {
        buf.append(data.substr(0, nl));
        if (buf.size() > opt.max_message_bytes)
          writer->respond(Server::error_response(nullptr, error_code::kParseError,
                                                 "Parse error: message too large"),
                          400);
        else
          handle_line(buf);
        buf.clear();
      }
      data.remove_prefix(nl + 1);
    }
  }
  // EOF: let pipelined calls finish (bounded), then flush and leave.
  server.wait_idle(opt.drain_timeout);
  server.detach(session);
  writer->close();
  return rc;
}

}  // namespace mcp
