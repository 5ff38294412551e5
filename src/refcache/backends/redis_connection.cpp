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

void format_command(std::string& out, const std::vector<std::string_view>& args) {
  constexpr std::size_t kInline = 16;
  const char* argv_small[kInline];
  size_t lens_small[kInline];
  std::vector<const char*> argv_big;
  std::vector<size_t> lens_big;
  const char** argv = argv_small;
  size_t* lens = lens_small;
  if (args.size() > kInline) {
    argv_big.resize(args.size());
    lens_big.resize(args.size());
    argv = argv_big.data();
    lens = lens_big.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv, lens);
  if (n < 0 || cmd == nullptr) throw std::bad_alloc();
  out.append(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
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
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        throw TransportError(where_ + ": " + std::generic_category().message(errno));
    }
    // A TLS write that needs a read: the reader thread will consume it; look again soon.
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
      // A short read drained the socket: wait first rather than pay for a recv that would
      // only say EAGAIN.
      if (drained_) {
        drained_ = false;
        if (wait(POLLIN, deadline) == 0) return false;
      }
      ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
      if (n > 0) {
        drained_ = static_cast<std::size_t>(n) < buf_.size();
        redisReaderFeed(reader_, buf_.data(), static_cast<std::size_t>(n));
        return true;
      }
      if (n == 0) throw TransportError(where_ + ": connection closed by the server");
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        throw TransportError(where_ + ": " + std::generic_category().message(errno));
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

void Event::wait() {
  while (!wait_until(Clock::now() + std::chrono::hours(1))) {
  }
}

// --- MuxConnection --------------------------------------------------------------------------

MuxConnection::MuxConnection(std::unique_ptr<RedisSocket> s,
                             std::chrono::milliseconds socket_timeout)
    : sock_(std::move(s)), socket_timeout_(socket_timeout) {
  reader_ = std::thread([this] { read_loop(); });
}

MuxConnection::~MuxConnection() {
  stop_ = true;
  fail("connection closed");
  if (reader_.joinable()) reader_.join();
}

void MuxConnection::fail(const std::string& why, bool timeout) {
  std::deque<std::shared_ptr<Pending>> failed;
  {
    std::lock_guard lock(mu_);
    dead_.store(true, std::memory_order_release);
    failed.swap(queue_);
  }
  sock_->shutdown();
  for (auto& p : failed) {
    p->error = why;
    p->timeout = timeout;
    p->done.set();
  }
}

// Sends the buffered commands if nothing is in flight. REQUIRES: `lock` holds mu_.
void MuxConnection::flush(std::unique_lock<std::mutex>& lock, Clock::time_point deadline) {
  while (!writing_ && sent_ == 0 && unsent_ > 0 && !dead()) {
    writing_ = true;
    spare_.swap(out_);
    sent_ += unsent_;
    unsent_ = 0;
    lock.unlock();
    std::string error;
    bool timeout = false;
    try {
      sock_->write_all(spare_, deadline);
    } catch (const TransportError& e) {
      error = e.what();
      timeout = e.timeout();
    }
    lock.lock();
    spare_.clear();
    writing_ = false;
    if (!error.empty()) {
      lock.unlock();
      fail(error, timeout);
      lock.lock();
      return;
    }
  }
}

void MuxConnection::call(std::string_view bytes, const std::shared_ptr<Pending>& p,
                         Clock::time_point deadline) {
  {
    std::unique_lock lock(mu_);
    if (dead()) throw TransportError("connection lost");
    out_.append(bytes);
    ++unsent_;
    queue_.push_back(p);
    // With a batch in flight, these commands leave with the next batch, sent by the reader
    // as soon as the current one is answered: one write and one read for many callers.
    flush(lock, deadline);
  }
  if (!p->done.wait_until(deadline)) {
    // The reply stream can no longer be matched with callers: give the connection up.
    fail("no reply in time", true);
    p->done.wait();
  }
  if (p->replies.size() < p->expected) {
    if (p->error.empty()) p->error = "connection lost";
    throw TransportError(p->error, p->timeout);
  }
}

void MuxConnection::read_loop() {
  std::vector<Reply> got;
  std::vector<std::shared_ptr<Pending>> wake;
  while (!stop_ && !dead()) {
    try {
      if (!sock_->fill(Clock::now() + std::chrono::milliseconds(500))) continue;
      while (Reply r = sock_->next_reply()) got.push_back(std::move(r));
    } catch (const TransportError& e) {
      fail(e.what(), e.timeout());
      return;
    }
    if (got.empty()) continue;
    {
      std::unique_lock lock(mu_);
      for (auto& r : got) {
        if (queue_.empty() || sent_ == 0) break;  // late replies of a failed connection
        auto& head = queue_.front();
        head->replies.push_back(std::move(r));
        if (head->replies.size() == head->expected) {
          wake.push_back(std::move(head));
          queue_.pop_front();
          --sent_;
        }
      }
      got.clear();
      if (sent_ == 0) flush(lock, Clock::now() + socket_timeout_);
    }
    for (auto& p : wake) p->done.set();
    wake.clear();
  }
}

}  // namespace refcache::redis_detail
