// The Redis transport (see redis_connection.hpp).
#include "refcache/backends/redis_connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "refcache/errors.hpp"

namespace refcache::redis_detail {

namespace {

std::string openssl_error(std::string_view fallback) {
  unsigned long e = ERR_get_error();
  if (e == 0) return std::string(fallback);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return ::inet_pton(AF_INET, host.c_str(), &a4) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

int ms_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30));
}

}  // namespace

// --- TLS ------------------------------------------------------------------------------------

TlsContext::TlsContext(const RedisOptions& o) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw InvalidArgument("redis TLS: " + openssl_error("cannot create an SSL_CTX"));
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  auto fail = [&](const std::string& what) {
    std::string m = "redis TLS: " + what + ": " + openssl_error("unknown error");
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
    throw InvalidArgument(m);
  };
  if (!o.tls_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_, o.tls_ca_file.c_str(), nullptr) != 1)
      fail("cannot load the CA file '" + o.tls_ca_file + "'");
  } else if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
    fail("cannot load the system CA certificates");
  }
  if (!o.tls_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_, o.tls_cert_file.c_str()) != 1)
      fail("cannot load the client certificate '" + o.tls_cert_file + "'");
    const std::string& key = o.tls_key_file.empty() ? o.tls_cert_file : o.tls_key_file;
    if (SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1)
      fail("cannot load the client key '" + key + "'");
    if (SSL_CTX_check_private_key(ctx_) != 1) fail("the client key does not match the certificate");
  }
}

TlsContext::~TlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

// --- RESP -----------------------------------------------------------------------------------

namespace {
// "<tag><n>\r\n", the header of a RESP array or bulk string.
void put_header(std::string& out, char tag, std::size_t n) {
  char buf[24];
  buf[0] = tag;
  auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf - 2, n);
  (void)ec;  // 21 places hold any size_t
  end[0] = '\r';
  end[1] = '\n';
  out.append(buf, static_cast<std::size_t>(end + 2 - buf));
}
}  // namespace

void format_command(std::string& out, const std::vector<std::string_view>& args) {
  // A RESP array of bulk strings: *<argc>\r\n then $<len>\r\n<bytes>\r\n per argument.
  // (Written here rather than by hiredis' redisFormatCommandArgv, which allocates a buffer
  // and formats every length with sprintf: most of a small command's cost.)
  std::size_t size = 16;
  for (auto a : args) size += a.size() + 16;
  out.reserve(out.size() + size);
  put_header(out, '*', args.size());
  for (auto a : args) {
    put_header(out, '$', a.size());
    out.append(a);
    out.append("\r\n", 2);
  }
}

// --- RedisSocket ----------------------------------------------------------------------------

std::unique_ptr<RedisSocket> RedisSocket::connect(const RedisOptions& o, const TlsContext* tls,
                                                  Clock::time_point deadline) {
  std::unique_ptr<RedisSocket> s(new RedisSocket());
  s->where_ = (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" +
              std::to_string(o.port);
  const std::string prefix = "cannot connect to " + s->where_ + ": ";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  int gai = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) throw TransportError(prefix + ::gai_strerror(gai));
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = std::generic_category().message(errno);
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n;
      do {
        n = ::poll(&p, 1, ms_until(deadline));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        ::close(fd);
        ::freeaddrinfo(res);
        throw TransportError(prefix + "Connection timed out", true);
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc != 0) {
      last = std::generic_category().message(errno);
      ::close(fd);
      continue;
    }
    s->fd_ = fd;
    break;
  }
  ::freeaddrinfo(res);
  if (s->fd_ < 0) throw TransportError(prefix + last);
  int one = 1;
  ::setsockopt(s->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(s->fd_, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (!tls && o.socket_timeout.count() > 0) {
    // Plain TCP: reads that may wait the whole socket_timeout block in recv() itself, bounded
    // by SO_RCVTIMEO, instead of a poll() followed by a recv(): one system call less per
    // reply. Writes and shorter waits stay non-blocking (MSG_DONTWAIT, poll).
    timeval tv{static_cast<time_t>(o.socket_timeout.count() / 1000),
               static_cast<suseconds_t>((o.socket_timeout.count() % 1000) * 1000)};
    int flags = ::fcntl(s->fd_, F_GETFL);
    if (flags >= 0 && ::setsockopt(s->fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
        ::fcntl(s->fd_, F_SETFL, flags & ~O_NONBLOCK) == 0)
      s->recv_timeout_ = o.socket_timeout;
  }
  s->reader_ = redisReaderCreate();
  if (!s->reader_) throw std::bad_alloc();
  s->buf_.resize(std::size_t{64} * 1024);

  if (tls) {
    s->ssl_ = SSL_new(tls->get());
    if (!s->ssl_) throw TransportError(prefix + openssl_error("SSL_new failed"));
    SSL_set_fd(s->ssl_, s->fd_);
    const std::string& name = o.tls_server_name.empty() ? o.host : o.tls_server_name;
    bool ip = is_ip_literal(name);
    if (!ip) SSL_set_tlsext_host_name(s->ssl_, name.c_str());
    if (o.tls_check_hostname) {
      X509_VERIFY_PARAM* param = SSL_get0_param(s->ssl_);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                  : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      if (ok != 1) throw TransportError(prefix + "invalid TLS server name '" + name + "'");
    }
    for (;;) {
      ERR_clear_error();
      int r = SSL_connect(s->ssl_);
      if (r == 1) break;
      int e = SSL_get_error(s->ssl_, r);
      short ev = 0;
      if (e == SSL_ERROR_WANT_READ) ev = POLLIN;
      if (e == SSL_ERROR_WANT_WRITE) ev = POLLOUT;
      if (ev == 0) {
        long v = SSL_get_verify_result(s->ssl_);
        std::string why = v != X509_V_OK
                              ? std::string("certificate verification failed: ") +
                                    X509_verify_cert_error_string(v)
                              : openssl_error(e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN
                                                  ? "connection closed during the handshake"
                                                  : "handshake failed");
        throw TransportError("TLS handshake with " + s->where_ + " failed: " + why);
      }
      if (s->wait(ev, deadline) == 0)
        throw TransportError("TLS handshake with " + s->where_ + " timed out", true);
    }
  }
  return s;
}

RedisSocket::~RedisSocket() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
  if (reader_) redisReaderFree(reader_);
}

int RedisSocket::wait(short events, Clock::time_point deadline) {
  pollfd p{fd_, events, 0};
  for (;;) {
    int n = ::poll(&p, 1, ms_until(deadline));
    if (n >= 0) return n;
    if (errno != EINTR)
      throw TransportError(where_ + ": poll: " + std::generic_category().message(errno));
  }
}

bool RedisSocket::alive() {
  char c;
  ssize_t n;
  do {
    n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return false;                                   // closed by the peer
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;  // nothing to read: fine
  // Bytes on a connection with nothing in flight. In plain RESP2 that is a reply nobody asked
  // for, which would be matched to the wrong caller.
  if (!ssl_) return false;
  // With TLS it may be a record the server sends at any time (a session ticket: consumed,
  // and the connection is fine) or its close_notify (the connection is gone). The TLS socket
  // is non-blocking, so this read does not wait.
  std::lock_guard lock(ssl_mu_);
  ERR_clear_error();
  int r = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
  if (r > 0) return false;  // application data nobody asked for
  int e = SSL_get_error(ssl_, r);
  ERR_clear_error();
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

void RedisSocket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void RedisSocket::write_all(std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    short want = POLLOUT;
    if (ssl_) {
      std::unique_lock lock(ssl_mu_);
      ERR_clear_error();
      int n = SSL_write(ssl_, data.data(),
                        static_cast<int>(std::min<std::size_t>(data.size(), 1 << 30)));
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_READ) {
        want = POLLIN;
      } else if (e != SSL_ERROR_WANT_WRITE) {
        throw TransportError(where_ + ": TLS write failed: " + openssl_error("connection lost"));
      }
    } else {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        throw TransportError(where_ + ": " + std::generic_category().message(errno));
    }
    // A TLS write that needs a read (a key update): SSL_write reads it itself when called
    // again; look again soon.
    auto until =
        want == POLLIN ? std::min(deadline, Clock::now() + std::chrono::milliseconds(5)) : deadline;
    if (wait(want, until) == 0 && Clock::now() >= deadline)
      throw TransportError(where_ + ": write timed out", true);
  }
}

bool RedisSocket::fill(Clock::time_point deadline) {
  for (;;) {
    short want = POLLIN;
    if (ssl_) {
      std::unique_lock lock(ssl_mu_);
      ERR_clear_error();
      int n = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
      if (n > 0) {
        redisReaderFeed(reader_, buf_.data(), static_cast<std::size_t>(n));
        return true;
      }
      int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_WRITE) {
        want = POLLOUT;
      } else if (e == SSL_ERROR_ZERO_RETURN) {
        throw TransportError(where_ + ": connection closed by the server");
      } else if (e != SSL_ERROR_WANT_READ) {
        throw TransportError(
            where_ + ": TLS read failed: " + openssl_error("connection closed by the server"));
      }
    } else {
      // A wait as long as SO_RCVTIMEO (give or take 10 ms) blocks in recv() itself.
      const bool block = recv_timeout_.count() > 0 &&
                         deadline - Clock::now() >= recv_timeout_ - std::chrono::milliseconds(10);
      // Otherwise, after a short read drained the socket, wait first rather than pay for a
      // recv that would only say EAGAIN.
      if (!block && drained_) {
        drained_ = false;
        if (wait(POLLIN, deadline) == 0) return false;
      }
      ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), block ? 0 : MSG_DONTWAIT);
      if (n > 0) {
        drained_ = static_cast<std::size_t>(n) < buf_.size();
        redisReaderFeed(reader_, buf_.data(), static_cast<std::size_t>(n));
        return true;
      }
      if (n == 0) throw TransportError(where_ + ": connection closed by the server");
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        throw TransportError(where_ + ": " + std::generic_category().message(errno));
      if (block) return false;  // SO_RCVTIMEO expired
    }
    if (wait(want, deadline) == 0) return false;
  }
}

Reply RedisSocket::next_reply() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK)
    throw TransportError(where_ + ": protocol error: " + std::string(reader_->errstr));
  return Reply(static_cast<redisReply*>(raw));
}

Reply RedisSocket::read_reply(Clock::time_point deadline) {
  for (;;) {
    if (Reply r = next_reply()) return r;
    if (!fill(deadline)) throw TransportError(where_ + ": no reply in time", true);
  }
}

Reply RedisSocket::call(const std::vector<std::string_view>& args, Clock::time_point deadline) {
  std::string out;
  format_command(out, args);
  write_all(out, deadline);
  return read_reply(deadline);
}

std::string handshake(RedisSocket& s, const RedisOptions& o, Clock::time_point deadline) {
  auto run = [&](const std::vector<std::string_view>& args) -> std::string {
    Reply r = s.call(args, deadline);
    if (r->type == REDIS_REPLY_ERROR) return std::string(r->str, r->len);
    return {};
  };
  if (!o.password.empty()) {
    std::string e = o.user.empty() ? run({"AUTH", o.password}) : run({"AUTH", o.user, o.password});
    if (!e.empty()) return "authentication failed: " + e;
  }
  if (o.db != 0) {
    std::string db = std::to_string(o.db);
    std::string e = run({"SELECT", db});
    if (!e.empty()) return "cannot select database " + db + ": " + e;
  }
  std::string e = run({"PING"});
  if (!e.empty()) {
    if (e.rfind("NOAUTH", 0) == 0) return "authentication required: " + e;
    return "PING failed: " + e;
  }
  return {};
}

// --- Event ----------------------------------------------------------------------------------

namespace {
long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* ts) {
  return ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, ts, nullptr,
                   FUTEX_BITSET_MATCH_ANY);
}
}  // namespace

void Event::set() {
  if (state_.exchange(1, std::memory_order_acq_rel) == 2)
    futex(&state_, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

bool Event::wait_until(Clock::time_point deadline) {
  static_assert(std::is_same_v<Clock, std::chrono::steady_clock>);  // CLOCK_MONOTONIC
  for (;;) {
    std::uint32_t s = state_.load(std::memory_order_acquire);
    if (s == 1) return true;
    if (s == 0 && !state_.compare_exchange_weak(s, 2, std::memory_order_acq_rel)) continue;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
    if (ns.count() < 0) ns = std::chrono::nanoseconds(0);
    timespec ts{static_cast<time_t>(ns.count() / 1000000000),
                static_cast<long>(ns.count() % 1000000000)};
    long r = futex(&state_, FUTEX_WAIT_BITSET_PRIVATE, 2, &ts);
    if (r == -1 && errno == ETIMEDOUT) return state_.load(std::memory_order_acquire) == 1;
  }
}

// --- MuxConnection --------------------------------------------------------------------------

MuxConnection::MuxConnection(std::unique_ptr<RedisSocket> s)
    : sock_(std::move(s)), idle_since_(Clock::now()) {}

MuxConnection::~MuxConnection() {
  fail("connection closed");
}

void MuxConnection::fail(const std::string& why, bool timeout) {
  std::deque<std::shared_ptr<Pending>> failed;
  {
    std::lock_guard lock(mu_);
    dead_.store(true, std::memory_order_release);
    failed.swap(queue_);
    for (auto& p : failed) {
      p->error = why;
      p->failed = true;
      p->timeout = timeout;
    }
  }
  // Wakes a leader blocked in poll(): its read fails at once.
  sock_->shutdown();
  for (auto& p : failed) p->wake.set();
}

bool MuxConnection::write_buffered(std::unique_lock<std::mutex>& lock, Clock::time_point deadline) {
  // The calls at queue_[sent_ ...] are those whose commands are in out_.
  while (queue_.size() > sent_) {
    sent_ = queue_.size();
    spare_.swap(out_);
    lock.unlock();
    std::string error;
    bool timeout = false;
    try {
      sock_->write_all(spare_, deadline);
    } catch (const TransportError& e) {
      error = e.what();
      timeout = e.timeout();
    }
    spare_.clear();
    if (!error.empty()) {
      fail(error, timeout);
      lock.lock();
      return false;
    }
    lock.lock();
  }
  return true;
}

void MuxConnection::call(std::string_view bytes, const std::shared_ptr<Pending>& p,
                         Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  // Failed since the caller picked it (by another call): nothing of ours was sent.
  if (dead()) throw StaleConnection("connection lost");
  if (!leading_ && queue_.empty() && Clock::now() - idle_since_ > std::chrono::milliseconds(2)) {
    // Idle for a while: the server may have closed the connection meanwhile (a restart, its
    // idle timeout). Nothing has been sent yet, so the caller can still go elsewhere.
    if (!sock_->alive()) {
      lock.unlock();
      fail("connection closed by the server while idle");
      throw StaleConnection("connection closed by the server while idle");
    }
  }
  out_.append(bytes);
  queue_.push_back(p);
  for (;;) {
    if (p->finished()) break;
    if (!leading_) {
      leading_ = true;
      lead(lock, p, deadline);
      break;
    }
    p->wake.reset();
    lock.unlock();
    bool woken = p->wake.wait_until(deadline);
    if (!woken) {
      lock.lock();
      if (p->finished()) break;
      lock.unlock();
      // The reply stream can no longer be matched with callers: give the connection up.
      fail("no reply in time", true);
    }
    lock.lock();
  }
  bool complete = p->replies.size() == p->expected;
  lock.unlock();
  if (!complete) {
    if (p->error.empty()) p->error = "connection lost";
    throw TransportError(p->error, p->timeout);
  }
}

void MuxConnection::lead(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Pending>& p,
                         Clock::time_point deadline) {
  std::vector<Reply> got;
  std::vector<std::shared_ptr<Pending>> done;
  while (!p->finished()) {
    // Everything buffered leaves now: ours on the first turn, then what other callers
    // appended while we waited for replies.
    if (!write_buffered(lock, deadline)) break;
    lock.unlock();
    std::string error;
    bool timeout = false;
    try {
      if (sock_->fill(deadline)) {
        while (Reply r = sock_->next_reply()) got.push_back(std::move(r));
      } else {
        error = "no reply in time";
        timeout = true;
      }
    } catch (const TransportError& e) {
      error = e.what();
      timeout = e.timeout();
    }
    if (!error.empty()) {
      fail(error, timeout);
      lock.lock();
      break;
    }
    lock.lock();
    for (auto& r : got) {
      if (queue_.empty() || sent_ == 0) {  // a reply nobody asked for: the stream is broken
        lock.unlock();
        fail("protocol error: unexpected reply");
        lock.lock();
        break;
      }
      auto& head = queue_.front();
      head->replies.push_back(std::move(r));
      if (head->replies.size() == head->expected) {
        if (head != p) done.push_back(head);
        queue_.pop_front();
        --sent_;
      }
    }
    got.clear();
    if (!done.empty()) {
      lock.unlock();
      for (auto& d : done) d->wake.set();
      done.clear();
      lock.lock();
    }
  }
  // Our replies are in (or the connection failed). Send what others buffered meanwhile, so
  // that it does not wait for the next leader to wake, then hand the reading over to the
  // oldest waiting caller.
  std::shared_ptr<Pending> next;
  if (!dead()) write_buffered(lock, deadline);
  leading_ = false;
  if (!queue_.empty()) next = queue_.front();
  if (queue_.empty()) idle_since_ = Clock::now();
  if (next) {
    lock.unlock();
    next->wake.set();
    lock.lock();
  }
}

}  // namespace refcache::redis_detail
