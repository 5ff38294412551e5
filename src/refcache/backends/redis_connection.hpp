// The Redis transport of RedisBackend (private): our own socket, plain TCP or TLS, with RESP
// formatted by hiredis' redisFormatCommandArgv and parsed by hiredis' redisReader.
//
// Why our own layer rather than hiredis' redisContext: hiredis 0.14 (Debian 12) has no TLS,
// its blocking context cannot be shared by several threads, and one context per thread costs
// the server one read and one write system call per command. Owning the socket gives us TLS
// through OpenSSL (certificate and host name verified), deadlines on every wait, and a
// multiplexed connection (MuxConnection) on which any number of threads pipeline their
// commands: pending commands are written by one send(), the replies of many callers are read
// by one recv() and handed out in order. hiredis' formatter and reader are kept because they
// are small, proven and already a dependency; they never touch the socket.
#pragma once

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "refcache/redis_config.hpp"

namespace refcache::redis_detail {

using Clock = std::chrono::steady_clock;

struct ReplyFree {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// An I/O failure: connection refused or lost, TLS failure, timeout, protocol error.
class TransportError : public std::runtime_error {
 public:
  TransportError(const std::string& what, bool timeout = false)
      : std::runtime_error(what), timeout_(timeout) {}
  bool timeout() const { return timeout_; }

 private:
  bool timeout_;
};

// The TLS settings shared by every connection of a backend (an SSL_CTX).
class TlsContext {
 public:
  // Throws InvalidArgument when a CA, certificate or key file cannot be loaded.
  explicit TlsContext(const RedisOptions& o);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

// Appends the RESP encoding of one command to `out`.
void format_command(std::string& out, const std::vector<std::string_view>& args);

// One socket to Redis. Writes and reads may run on two threads at once (TLS calls are
// serialised inside); each wait is bounded by a deadline.
class RedisSocket {
 public:
  // Connects within `deadline` (TCP, then the TLS handshake when tls is given). Throws
  // TransportError naming host:port.
  static std::unique_ptr<RedisSocket> connect(const RedisOptions& o, const TlsContext* tls,
                                              Clock::time_point deadline);
  ~RedisSocket();
  RedisSocket(const RedisSocket&) = delete;
  RedisSocket& operator=(const RedisSocket&) = delete;

  // Writes all of `data`. Throws TransportError.
  void write_all(std::string_view data, Clock::time_point deadline);
  // Reads what is available (waiting until `deadline`) into the reply parser. False on
  // timeout; throws TransportError on failure or end of stream.
  bool fill(Clock::time_point deadline);
  // The next complete reply, or null. Throws TransportError on a protocol error.
  Reply next_reply();
  // Waits for the next reply. Throws TransportError (timeout() on expiry).
  Reply read_reply(Clock::time_point deadline);
  // One command, synchronously (for the handshake and the events connection).
  Reply call(const std::vector<std::string_view>& args, Clock::time_point deadline);
  // Makes pending and future reads and writes fail at once (wakes a blocked reader).
  void shutdown();

 private:
  RedisSocket() = default;
  int wait(short events, Clock::time_point deadline);  // poll: >0 ready, 0 timeout
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::mutex ssl_mu_;  // OpenSSL allows one thread at a time per SSL object
  redisReader* reader_ = nullptr;
  std::string where_;  // "host:port"
  std::vector<char> buf_;
  bool drained_ = false;  // the last recv returned less than asked (plain sockets)
};

// AUTH (user + password), SELECT and PING on a fresh socket; returns "" or what failed.
std::string handshake(RedisSocket& s, const RedisOptions& o, Clock::time_point deadline);

// A one-shot event on a futex: set() by one thread, waited for by one other. (Not
// std::binary_semaphore: libstdc++'s timed acquire spins with sched_yield before sleeping,
// which on a busy machine burns the CPU the server and the reader need.)
class Event {
 public:
  void set();
  // False if `deadline` passed first.
  bool wait_until(Clock::time_point deadline);
  void wait();

 private:
  std::atomic<std::uint32_t> state_{0};  // 0 idle, 1 set, 2 a waiter sleeps
};

// A command in flight on a MuxConnection: the caller waits for `expected` replies.
struct Pending {
  explicit Pending(std::size_t n) : expected(n) { replies.reserve(n); }
  std::size_t expected;
  std::vector<Reply> replies;
  std::string error;  // set when the connection failed before every reply arrived
  bool timeout = false;
  Event done;
};

// A connection shared by every thread (auto-pipelining): call() appends the formatted
// commands to an output buffer; when no batch is in flight the caller sends the buffer at
// once, otherwise the commands wait for the current batch's replies and the reader thread
// sends everything buffered meanwhile in one write. The reader parses replies (one read
// usually carries many) and completes the callers in FIFO order. So under load the server
// and we pay one read and one write per batch instead of per command. A failure (I/O error, timeout
// of any caller) fails every pending call and marks the connection dead; the owner then opens a new
// one.
class MuxConnection {
 public:
  MuxConnection(std::unique_ptr<RedisSocket> s, std::chrono::milliseconds socket_timeout);
  ~MuxConnection();
  MuxConnection(const MuxConnection&) = delete;
  MuxConnection& operator=(const MuxConnection&) = delete;

  bool dead() const { return dead_.load(std::memory_order_acquire); }
  // Sends `bytes` (holding p->expected commands) and waits for their replies until
  // `deadline`. Throws TransportError when the connection fails or the deadline passes (the
  // connection is then dead: its reply stream can no longer be matched to callers).
  void call(std::string_view bytes, const std::shared_ptr<Pending>& p, Clock::time_point deadline);
  // Fails every pending call with `why` and closes the socket.
  void fail(const std::string& why, bool timeout = false);

 private:
  void read_loop();
  void flush(std::unique_lock<std::mutex>& lock, Clock::time_point deadline);
  std::unique_ptr<RedisSocket> sock_;
  std::chrono::milliseconds socket_timeout_;
  std::mutex mu_;
  std::string out_, spare_;  // commands not sent yet; the batch being written
  std::size_t unsent_ = 0;   // calls whose commands are in out_
  std::size_t sent_ = 0;     // calls sent and not fully answered (at the front of queue_)
  bool writing_ = false;
  std::deque<std::shared_ptr<Pending>> queue_;
  std::atomic<bool> dead_{false};
  std::atomic<bool> stop_{false};
  std::thread reader_;
};

}  // namespace refcache::redis_detail
