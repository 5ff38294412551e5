// The Redis transport of RedisBackend (private): our own socket, plain TCP or TLS, with RESP
// written here and parsed by hiredis' redisReader.
//
// Why our own layer rather than hiredis' redisContext: hiredis 0.14 (Debian 12) has no TLS,
// its blocking context cannot be shared by several threads, and it formats every command
// through sprintf into a fresh buffer. Owning the socket gives us TLS through OpenSSL
// (certificate and host name verified), deadlines on every wait, and a multiplexed connection
// (MuxConnection) that a thread has to itself when the pool allows and on which several
// threads pipeline their commands when it does not. hiredis' reply parser is kept because it
// is small, proven and already a dependency; it never touches the socket.
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

// The text of a string, status or error reply; "" for any other reply or none.
inline std::string reply_text(const redisReply* r) {
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
            r->type == REDIS_REPLY_ERROR))
    return std::string(r->str, r->len);
  return {};
}

// The value of an integer reply; 0 for any other reply or none.
inline long long reply_int(const redisReply* r) {
  if (r && r->type == REDIS_REPLY_INTEGER) return r->integer;
  return 0;
}

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
  // False if the server closed the connection (or it failed), as far as can be seen without
  // waiting. For a connection with nothing in flight.
  bool alive();
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
  // Plain sockets: SO_RCVTIMEO of the (then blocking) socket; 0 = non-blocking socket.
  std::chrono::milliseconds recv_timeout_{0};
};

// AUTH (user + password), SELECT and PING on a fresh socket; returns "" or what failed.
std::string handshake(RedisSocket& s, const RedisOptions& o, Clock::time_point deadline);

// An event on a futex: set() by any thread, waited for by one owner, who re-arms it with
// reset() before it looks at the condition the event stands for. (Not
// std::binary_semaphore: libstdc++'s timed acquire spins with sched_yield before sleeping,
// which on a busy machine burns the CPU the server and the other callers need.)
class Event {
 public:
  void set();
  void reset() { state_.store(0, std::memory_order_relaxed); }
  // False if `deadline` passed first.
  bool wait_until(Clock::time_point deadline);

 private:
  std::atomic<std::uint32_t> state_{0};  // 0 idle, 1 set, 2 a waiter sleeps
};

// A command in flight on a MuxConnection: the caller waits for `expected` replies.
struct Pending {
  explicit Pending(std::size_t n) : expected(n) { replies.reserve(n); }
  // Every reply arrived, or the connection failed first. REQUIRES: the connection's mutex.
  bool finished() const { return replies.size() == expected || failed; }
  std::size_t expected;
  std::vector<Reply> replies;
  std::string error;  // set when the connection failed before every reply arrived
  bool failed = false;
  bool timeout = false;
  // Set when the call finished or when its thread is asked to take over the reading.
  Event wake;
};

// A connection shared by every thread that picks it, without a thread of its own
// (leader/follower). A caller appends its formatted commands to the output buffer; if no
// other caller is reading the socket, it becomes the leader: it writes everything buffered,
// reads replies and hands each to its caller in FIFO order, until its own replies are in.
// Callers that arrive meanwhile wait (on a futex); their commands leave with the leader's next
// write, so under contention Redis and we pay one write and one read per batch. When the
// leader's own replies are in, it writes what is still buffered and wakes the oldest waiting
// caller to read in its place.
//
// Uncontended (the pool gives each thread a connection of its own when it can), a call is
// one write and one read on the caller's thread: no thread hop and no futex, which is most of
// what a synchronous client spends per command on loopback.
//
// A failure (I/O error, timeout of any caller) fails every pending call and marks the
// connection dead; the owner then opens a new one.
class MuxConnection {
 public:
  explicit MuxConnection(std::unique_ptr<RedisSocket> s);
  ~MuxConnection();
  MuxConnection(const MuxConnection&) = delete;
  MuxConnection& operator=(const MuxConnection&) = delete;

  bool dead() const { return dead_.load(std::memory_order_acquire); }
  // Sends `bytes` (holding p->expected commands) and waits for their replies until
  // `deadline`. Throws TransportError when the connection fails or the deadline passes (the
  // connection is then dead: its reply stream can no longer be matched to callers), or
  // StaleConnection when it was found closed before anything of this call was sent.
  void call(std::string_view bytes, const std::shared_ptr<Pending>& p, Clock::time_point deadline);
  // Fails every pending call with `why` and closes the socket.
  void fail(const std::string& why, bool timeout = false);

 private:
  // Reads and dispatches replies until p's are in. REQUIRES: `lock` holds mu_, leading_.
  void lead(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Pending>& p,
            Clock::time_point deadline);
  // Writes out_ (swapped into spare_, mu_ released meanwhile). False if the write failed
  // (the connection is then failed). REQUIRES: `lock` holds mu_, leading_.
  bool write_buffered(std::unique_lock<std::mutex>& lock, Clock::time_point deadline);
  std::unique_ptr<RedisSocket> sock_;
  std::mutex mu_;
  std::string out_, spare_;         // commands not sent yet; the batch being written
  std::size_t sent_ = 0;            // calls sent and not fully answered (at the front of queue_)
  bool leading_ = false;            // a caller is writing or reading the socket
  Clock::time_point idle_since_{};  // when the last call finished with nothing in flight
  std::deque<std::shared_ptr<Pending>> queue_;
  std::atomic<bool> dead_{false};
};

// Thrown by MuxConnection::call when the connection was already closed (by the server while
// it was idle, or failed by another call) before anything was sent: any command, a write
// included, may then be sent again on a new connection.
class StaleConnection : public TransportError {
 public:
  using TransportError::TransportError;
};

}  // namespace refcache::redis_detail
