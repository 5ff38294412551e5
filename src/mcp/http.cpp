// Streamable HTTP + legacy HTTP+SSE transport on Boost.Beast with C++20 coroutines.
//
// One coroutine per connection reads requests and writes responses. A POST's answer comes from
// the worker pool through an HttpStream: if the response is ready before anything else was
// sent, it goes out as one application/json response (one gather write); if a notification or
// server->client request comes first, the answer switches to an SSE stream. While a request is
// pending, the socket is watched so that a client that goes away cancels its request.
#include "mcp/http.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "crypto.hpp"
#include "jsonio/json_text.hpp"

namespace mcp {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
using asio::awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool is_loopback_name(std::string_view h) {
  std::string l = lower(h);
  return l == "localhost" || l == "127.0.0.1" || l == "[::1]" || l == "::1";
}

// "host:port" / "[v6]:port" -> host
std::string_view host_part(std::string_view hostport) {
  if (!hostport.empty() && hostport.front() == '[') {
    auto e = hostport.find(']');
    return e == std::string_view::npos ? hostport : hostport.substr(0, e + 1);
  }
  auto c = hostport.rfind(':');
  return c == std::string_view::npos ? hostport : hostport.substr(0, c);
}

std::string header(const Request& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

bool has_header(const Request& req, std::string_view name) {
  return req.find(name) != req.end();
}

std::string error_body(const bj::value& id, int code, std::string_view msg) {
  return Server::error_response(id, code, msg);
}

// Decodes an Mcp-Name / Mcp-Param value: "=?base64?...?=" is base64 (strict), else literal.
bool decode_header_value(std::string_view v, std::string& out) {
  v = trim(v);
  constexpr std::string_view pre = "=?base64?", post = "?=";
  if (v.size() >= pre.size() + post.size() && lower(v.substr(0, pre.size())) == pre &&
      v.substr(v.size() - post.size()) == post) {
    return crypto::base64_decode(v.substr(pre.size(), v.size() - pre.size() - post.size()), out);
  }
  out.assign(v);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// HttpStream: the Outbound of one POST (lazy JSON/SSE) or one SSE stream (GET /mcp, GET /sse).

class HttpStream : public Outbound, public std::enable_shared_from_this<HttpStream> {
 public:
  enum class Kind { kPost, kStandalone, kLegacySse };
  HttpStream(const asio::any_io_executor& ex, Kind kind) : kind_(kind), timer_(ex) {}

  bool send(std::string text) override {
    {
      std::lock_guard lk(mu_);
      if (closed_ || json_only_) return false;
      events_.push_back(std::move(text));
    }
    wake();
    return true;
  }
  void respond(std::string text, int status) override {
    if (kind_ != Kind::kPost) {  // persistent streams carry responses as ordinary events
      send(std::move(text));
      return;
    }
    {
      std::lock_guard lk(mu_);
      if (closed_ || has_final_) return;
      final_ = std::move(text);
      status_ = status;
      has_final_ = true;
    }
    wake();
  }
  void accepted() override {
    {
      std::lock_guard lk(mu_);
      accepted_ = true;
    }
    wake();
  }
  void abandon() override {
    {
      std::lock_guard lk(mu_);
      abandoned_ = true;
    }
    wake();
  }
  bool is_open() const override {
    std::lock_guard lk(mu_);
    return !closed_;
  }
  void on_peer_closed(std::function<void()> fn) override {
    // Persistent streams (GET /mcp, GET /sse) carry many requests; those are cancelled when the
    // session ends (Server::detach), so per-request callbacks would only pile up here.
    if (kind_ != Kind::kPost) return;
    {
      std::lock_guard lk(mu_);
      if (!closed_) {
        close_cbs_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }
  void peer_closed() {
    std::vector<std::function<void()>> cbs;
    {
      std::lock_guard lk(mu_);
      if (closed_) return;
      closed_ = true;
      cbs.swap(close_cbs_);
    }
    for (auto& f : cbs) f();
    wake();
  }
  // The connection carrying this stream (generation `gen`) went away. A resumable stream keeps
  // buffering for a later GET with Last-Event-ID (legacy 2025-11-25: a disconnect is not a
  // cancellation); any other stream is closed, which cancels its request.
  void connection_lost(std::uint64_t gen) {
    {
      std::lock_guard lk(mu_);
      if (resumable_) {
        if (gen == generation_) attached_ = false;
      }
    }
    if (!is_resumable())
      peer_closed();
    else
      wake();
  }
  bool is_resumable() const {
    std::lock_guard lk(mu_);
    return resumable_;
  }
  void close_stream() override {
    {
      std::lock_guard lk(mu_);
      close_requested_ = true;
    }
    wake();
  }
  // Wakes the coroutine serving this stream. The flag keeps a wake-up that arrives while the
  // coroutine is not waiting (e.g. in the middle of a write) for its next wait_for_wake(); a bare
  // timer cancel would be lost then and the coroutine would sleep until its keep-alive (15 s),
  // holding the connection of a stream that was already closed, or delaying events.
  void wake() {
    auto self = shared_from_this();
    asio::post(timer_.get_executor(), [self] {
      self->woken_ = true;
      self->timer_.cancel();
    });
  }
  // Waits until wake() or `d` has passed, whichever comes first; returns true when `d` passed.
  // Runs on the stream's strand (as wake()'s handler does), so woken_ needs no lock.
  awaitable<bool> wait_for_wake(std::chrono::steady_clock::duration d) {
    if (woken_) {
      woken_ = false;
      co_return false;
    }
    timer_.expires_after(d);
    auto [ec] = co_await timer_.async_wait(tuple_awaitable);
    woken_ = false;
    co_return !ec;
  }

  Kind kind_;
  asio::steady_timer timer_;
  bool woken_ = false;  // strand only: see wake()
  mutable std::mutex mu_;
  std::deque<std::string> events_;
  std::string final_;
  int status_ = 200;
  bool has_final_ = false, accepted_ = false, abandoned_ = false, closed_ = false;
  std::vector<std::function<void()>> close_cbs_;
  // Resumable SSE (legacy sessions, 2025-11-25): every event gets "<stream_id>-<seq>" and is kept
  // until the response has been delivered, so a reconnecting client can replay what it missed.
  bool resumable_ = false, close_requested_ = false, attached_ = true, final_recorded_ = false;
  // The client accepts only application/json: related messages cannot be delivered.
  bool json_only_ = false;
  std::uint64_t generation_ = 0, next_seq_ = 1;
  std::string stream_id_;
  std::deque<std::pair<std::uint64_t, std::string>> history_;
};

// ---------------------------------------------------------------------------------------------

class HttpStream;
struct HttpSessionEntry {
  std::shared_ptr<Session> session;
  std::string owner;  // whose budget it counts against (owner_key)
  std::chrono::steady_clock::time_point created, last_used;
  bool established = false;                                    // a request followed its initialize
  std::map<std::string, std::shared_ptr<HttpStream>> streams;  // resumable POST streams
};
struct SseSessionEntry {
  std::shared_ptr<Session> session;
  std::string owner;
};

// Who a legacy session counts against (HttpOptions::max_sessions_per_principal/_per_peer): the
// authenticated principal, else the peer's address; an IPv6 peer by its /64, the block one
// host usually holds.
std::string owner_key(const std::optional<Principal>& principal, const std::string& peer) {
  if (principal) return "principal:" + principal->subject;
  boost::system::error_code ec;
  auto a = asio::ip::make_address(peer, ec);
  if (ec || !a.is_v6()) return "peer:" + peer;
  auto bytes = a.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return "peer:" + asio::ip::address_v6(bytes).to_string() + "/64";
}

// The address as handlers and logs see it: IPv4-mapped IPv6 peers as IPv4.
std::string peer_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

struct HttpServer::Impl {
  Server& server;
  HttpOptions opt;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;
  std::mutex mu;
  std::condition_variable stopped_cv;
  bool stopped = false;
  std::unordered_map<std::string, HttpSessionEntry> sessions;     // legacy Streamable HTTP
  std::unordered_map<std::string, SseSessionEntry> sse_sessions;  // legacy HTTP+SSE
  std::unordered_map<std::string, std::size_t> owner_sessions;    // both tables, by owner_key
  std::shared_ptr<Session> stateless =
      std::make_shared<Session>("", TransportKind::kStreamableHttp, true);
  // Open connections and response streams, so that stop() can end them (and the requests they
  // carry) instead of leaving clients waiting.
  std::mutex conn_mu;
  std::unordered_map<std::uint64_t, beast::tcp_stream*> conns;
  std::uint64_t next_conn = 0;
  std::vector<std::weak_ptr<HttpStream>> streams_alive;
  std::size_t prune_at = 64;
  std::atomic<int> refusing{0};  // refuse_connection() coroutines running
  // Connections accepted and not yet ended, counted by the accept loop itself (a connection
  // registers in `conns` later, on its own strand) so that max_connections holds exactly.
  std::atomic<std::size_t> live_connections{0};
  asio::thread_pool scrape_pool{1};  // renders /metrics (see route)

  std::shared_ptr<HttpStream> new_stream(beast::tcp_stream& stream, HttpStream::Kind kind) {
    auto hs = std::make_shared<HttpStream>(stream.get_executor(), kind);
    std::lock_guard lk(conn_mu);
    if (streams_alive.size() >= prune_at) {
      std::erase_if(streams_alive, [](const std::weak_ptr<HttpStream>& w) { return w.expired(); });
      prune_at = std::max<std::size_t>(64, 2 * streams_alive.size());
    }
    streams_alive.push_back(hs);
    return hs;
  }

  Impl(Server& s, HttpOptions o) : server(s), opt(std::move(o)) {}

  // --- policy checks ----------------------------------------------------------------------------
  bool host_allowed(const Request& req) const {
    if (!opt.validate_host_origin || opt.allow_any_host) return true;
    std::string host = header(req, "Host");
    if (host.empty()) return false;
    std::string_view h = host_part(host);
    if (is_loopback_name(h)) return true;
    for (const auto& a : opt.allowed_hosts)
      if (lower(a) == lower(h)) return true;
    return false;
  }

  bool origin_allowed(const Request& req) const {
    if (!opt.validate_host_origin || opt.allow_any_host || !has_header(req, "Origin")) return true;
    std::string origin = header(req, "Origin");
    for (const auto& a : opt.allowed_origins)
      if (lower(a) == lower(origin)) return true;
    auto p = origin.find("://");
    if (p == std::string::npos) return false;
    std::string_view hp = std::string_view(origin).substr(p + 3);
    if (auto slash = hp.find('/'); slash != std::string_view::npos) hp = hp.substr(0, slash);
    std::string_view h = host_part(hp);
    if (is_loopback_name(h)) return true;
    for (const auto& a : opt.allowed_hosts)
      if (lower(a) == lower(h)) return true;
    return false;
  }

  std::string base_url(const Request& req) const {
    std::string host = header(req, "Host");
    return "http://" + (host.empty() ? opt.host + ":" + std::to_string(bound_port) : host);
  }

  std::string resource_url(const Request& req) const {
    return opt.auth && !opt.auth->resource.empty() ? opt.auth->resource : base_url(req) + opt.path;
  }

  std::string metadata_url(const Request& req) const {
    // RFC 9728: /.well-known/oauth-protected-resource + path of the resource.
    std::string res = resource_url(req);
    auto u = boost::urls::parse_uri(res);
    if (!u) return base_url(req) + "/.well-known/oauth-protected-resource" + opt.path;
    std::string origin = std::string(u->scheme()) + "://" + std::string(u->encoded_authority());
    std::string path(u->encoded_path());
    if (path == "/") path.clear();
    return origin + "/.well-known/oauth-protected-resource" + path;
  }

  void add_cors(const Request& req, Response& res) const {
    if (!has_header(req, "Origin")) return;
    res.set(http::field::access_control_allow_origin, header(req, "Origin"));
    res.set(http::field::vary, "Origin");
    res.set(http::field::access_control_expose_headers,
            "Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate");
  }

  Response make(const Request& req, http::status st, std::string body,
                std::string_view ctype = "application/json") {
    server.transport_metrics().count_http_response(static_cast<int>(st));
    Response res{st, req.version()};
    res.set(http::field::server, "mcp-cpp");
    if (!body.empty()) res.set(http::field::content_type, ctype);
    res.body() = std::move(body);
    res.keep_alive(req.keep_alive());
    add_cors(req, res);
    res.prepare_payload();
    return res;
  }

  // Returns the principal, or fills `deny` with a 401/403 answer.
  std::optional<Principal> authenticate(const Request& req, std::optional<Response>& deny) {
    if (!opt.auth || !opt.auth->verify) return std::nullopt;
    std::string meta = metadata_url(req);
    std::string scope;
    for (const auto& s : opt.auth->required_scopes) scope += (scope.empty() ? "" : " ") + s;
    std::string authz = header(req, "Authorization");
    std::optional<Principal> p;
    if (authz.size() > 7 && lower(authz.substr(0, 7)) == "bearer ")
      p = opt.auth->verify(trim(std::string_view(authz).substr(7)));
    if (!p) {
      Response r = make(req, http::status::unauthorized,
                        error_body(nullptr, error_code::kInvalidRequest,
                                   "Unauthorized: a valid bearer token is required"));
      std::string www = "Bearer resource_metadata=\"" + meta + "\"";
      if (!scope.empty()) www += ", scope=\"" + scope + "\"";
      if (!authz.empty()) www += ", error=\"invalid_token\"";
      r.set(http::field::www_authenticate, www);
      r.keep_alive(false);  // an unauthenticated connection does not stay open
      deny = std::move(r);
      return std::nullopt;
    }
    for (const auto& need : opt.auth->required_scopes)
      if (std::find(p->scopes.begin(), p->scopes.end(), need) == p->scopes.end()) {
        Response r =
            make(req, http::status::forbidden,
                 error_body(nullptr, error_code::kInvalidRequest, "Forbidden: insufficient scope"));
        std::string challenge = "Bearer error=\"insufficient_scope\", scope=\"";
        challenge += scope;
        challenge += "\", resource_metadata=\"";
        challenge += meta;
        challenge += '"';
        r.set(http::field::www_authenticate, challenge);
        r.keep_alive(false);
        deny = std::move(r);
        return std::nullopt;
      }
    return p;
  }

  // --- sessions
  // ------------------------------------------------------------------------------------
  // Why find_session found nothing to use.
  enum class Lookup { kFound, kMissing, kForeign };

  // The session `id` if `principal` may use it, counting this request as its use (which also
  // establishes it). A session created by an authenticated principal answers that principal
  // only (kForeign, and the session is not touched); unknown or expired ids are kMissing.
  std::shared_ptr<Session> find_session(const std::string& id,
                                        const std::optional<Principal>& principal,
                                        Lookup* why = nullptr) {
    std::shared_ptr<Session> found, expired;
    Lookup result = Lookup::kMissing;
    {
      std::lock_guard lk(mu);
      auto it = sessions.find(id);
      if (it != sessions.end()) {
        auto now = std::chrono::steady_clock::now();
        auto subject = it->second.session->principal_subject();
        if (now - it->second.last_used > opt.session_ttl) {
          expired = take_locked(it);
        } else if (subject && (!principal || principal->subject != *subject)) {
          result = Lookup::kForeign;
        } else {
          it->second.last_used = now;
          it->second.established = true;
          found = it->second.session;
          result = Lookup::kFound;
        }
      }
    }
    if (expired) retire(expired, /*expired=*/true);
    if (why) *why = result;
    return found;
  }

  // Removes a session from its table and its owner's count, under `mu`. The caller retires
  // it outside the lock.
  std::shared_ptr<Session> take_locked(decltype(sessions)::iterator it) {
    auto s = std::move(it->second.session);
    release_owner_locked(it->second.owner);
    sessions.erase(it);
    return s;
  }
  void release_owner_locked(const std::string& owner) {
    auto it = owner_sessions.find(owner);
    if (it != owner_sessions.end() && --it->second == 0) owner_sessions.erase(it);
  }
  std::size_t owned_locked(const std::string& owner) const {
    auto it = owner_sessions.find(owner);
    return it == owner_sessions.end() ? 0 : it->second;
  }

  // Ends a session taken from the table: its calls are cancelled and its GET stream closes.
  void retire(const std::shared_ptr<Session>& s, bool expired) {
    server.detach(s);
    if (expired) server.transport_metrics().count_session_expired();
    if (auto out = s->standalone()) static_cast<HttpStream*>(out.get())->peer_closed();
    s->set_standalone(nullptr);
  }

  // Takes out of the table the sessions idle longer than session_ttl and those that saw no
  // request after their initialize within session_init_timeout. Under `mu`.
  std::vector<std::shared_ptr<Session>> reap_locked(std::chrono::steady_clock::time_point now) {
    std::vector<std::shared_ptr<Session>> gone;
    const bool reap_unestablished = opt.session_init_timeout.count() > 0;
    for (auto it = sessions.begin(); it != sessions.end();) {
      const auto& e = it->second;
      if (now - e.last_used > opt.session_ttl ||
          (reap_unestablished && !e.established && now - e.created > opt.session_init_timeout))
        gone.push_back(take_locked(it++));
      else
        ++it;
    }
    return gone;
  }

  // The cap a new session of `owner` must stay under.
  std::size_t owner_cap(bool by_principal) const {
    return by_principal ? opt.max_sessions_per_principal : opt.max_sessions_per_peer;
  }
  static const char* owner_refusal(bool by_principal) {
    return by_principal ? "Too many sessions for this principal"
                        : "Too many sessions from this address";
  }

  struct Created {
    std::shared_ptr<Session> session;
    const char* refusal = nullptr;  // why there is none
  };
  // A new legacy Streamable HTTP session for `principal` (or, without one, the peer), within
  // max_sessions and the owner's cap; when either is full, reaped sessions make room first.
  Created create_session(const std::optional<Principal>& principal, const std::string& peer) {
    const std::string owner = owner_key(principal, peer);
    const std::size_t cap = owner_cap(principal.has_value());
    Created out;
    std::vector<std::shared_ptr<Session>> gone;
    {
      std::lock_guard lk(mu);
      auto now = std::chrono::steady_clock::now();
      if (sessions.size() >= opt.max_sessions || owned_locked(owner) >= cap)
        gone = reap_locked(now);
      if (sessions.size() >= opt.max_sessions) {
        out.refusal = "Too many sessions";
      } else if (owned_locked(owner) >= cap) {
        out.refusal = owner_refusal(principal.has_value());
      } else {
        out.session =
            std::make_shared<Session>(crypto::random_hex(16), TransportKind::kStreamableHttp);
        if (principal) out.session->set_principal_subject(principal->subject);
        sessions.emplace(
            out.session->id(),
            HttpSessionEntry{
                .session = out.session, .owner = owner, .created = now, .last_used = now});
        ++owner_sessions[owner];
      }
    }
    for (auto& x : gone) retire(x, /*expired=*/true);
    if (out.session) server.attach(out.session);
    return out;
  }

  void end_session(const std::string& id) {
    std::shared_ptr<Session> s;
    {
      std::lock_guard lk(mu);
      auto it = sessions.find(id);
      if (it == sessions.end()) return;
      s = take_locked(it);
    }
    retire(s, /*expired=*/false);
  }

  // --- writing
  // -------------------------------------------------------------------------------------
  static awaitable<bool> write(beast::tcp_stream& stream, Response res) {
    bool keep = res.keep_alive();
    auto [ec, n] = co_await http::async_write(stream, res, tuple_awaitable);
    (void)n;
    co_return !ec && keep;
  }

  static awaitable<bool> write_raw(beast::tcp_stream& stream, const std::string& data) {
    auto [ec, n] = co_await asio::async_write(stream.socket(), asio::buffer(data), tuple_awaitable);
    (void)n;
    co_return !ec;
  }

  static void start_monitor(beast::tcp_stream& stream, const std::shared_ptr<HttpStream>& hs,
                            std::uint64_t gen = 0) {
    // A one-byte peek that completes with end-of-file when the peer closes its side. The
    // handler must not touch `stream`: a completion can be queued just before the
    // connection ends and destroys it (it asked the socket for available() before, and a
    // calculator under the churn test crashed there, reading freed memory). The byte it
    // peeks into is owned by the handler, so it outlives an operation that is cancelled.
    auto peeked = std::make_shared<char>();
    stream.socket().async_receive(
        asio::buffer(peeked.get(), 1), tcp::socket::message_peek,
        [hs, gen, peeked](boost::system::error_code ec, std::size_t /*n*/) {
          if (ec == asio::error::eof || ec == asio::error::connection_reset)
            hs->connection_lost(gen);
        });
  }

  std::string sse_headers(const Request& req,
                          const std::vector<std::pair<std::string, std::string>>& extra) {
    server.transport_metrics().count_http_response(200);
    std::string h =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "X-Accel-Buffering: no\r\nConnection: close\r\n";
    if (has_header(req, "Origin")) {
      h += "Access-Control-Allow-Origin: " + header(req, "Origin") +
           "\r\nVary: Origin\r\nAccess-Control-Expose-Headers: Mcp-Session-Id, "
           "MCP-Protocol-Version\r\n";
    }
    for (auto& [k, v] : extra) {
      h += k;
      h += ": ";
      h += v;
      h += "\r\n";
    }
    h += "\r\n";
    return h;
  }

  // Serves the answer to one POST. Returns whether the connection stays open.
  awaitable<bool> serve_post(beast::tcp_stream& stream, const Request& req,
                             std::shared_ptr<HttpStream> hs,
                             std::vector<std::pair<std::string, std::string>> extra,
                             std::optional<std::string> resume_key = std::nullopt) {
    bool monitoring = false;
    for (;;) {
      {
        std::lock_guard lk(hs->mu_);
        if (hs->has_final_ || !hs->events_.empty() || hs->accepted_ || hs->abandoned_ ||
            hs->closed_ || (hs->close_requested_ && resume_key))
          break;
      }
      co_await hs->wait_for_wake(
          monitoring ? std::chrono::steady_clock::duration(std::chrono::seconds(3600))
                     : std::chrono::milliseconds(20));
      if (!monitoring) {
        monitoring = true;
        start_monitor(stream, hs);
      }
    }
    std::unique_lock lk(hs->mu_);
    if (hs->closed_) co_return false;
    if (hs->abandoned_ && hs->events_.empty() && !hs->has_final_) co_return false;
    if (hs->accepted_ && hs->events_.empty() && !hs->has_final_) {
      lk.unlock();
      if (monitoring) {
        boost::system::error_code cec;
        stream.socket().cancel(cec);  // the monitor's wait; the socket may be closed by stop()
      }
      Response r = make(req, http::status::accepted, "");
      for (auto& [k, v] : extra) r.set(k, v);
      co_return co_await write(stream, std::move(r));
    }
    if (hs->has_final_ && hs->events_.empty() && !(hs->close_requested_ && resume_key)) {
      std::string body = std::move(hs->final_);
      int st = hs->status_;
      lk.unlock();
      if (monitoring) {
        boost::system::error_code cec;
        stream.socket().cancel(cec);  // the monitor's wait; the socket may be closed by stop()
      }
      Response r = make(req, static_cast<http::status>(st), std::move(body));
      for (auto& [k, v] : extra) r.set(k, v);
      co_return co_await write(stream, std::move(r));
    }
    lk.unlock();
    // SSE: related messages first, then the response; the stream ends after it.
    std::string out = sse_headers(req, extra);
    std::uint64_t gen = 0;
    if (resume_key) {
      std::lock_guard g(hs->mu_);
      hs->resumable_ = true;
      hs->stream_id_ = crypto::random_hex(8);
      gen = hs->generation_;
      // Priming event (SEP-1699): an id to resume from, and how soon to reconnect.
      out += "id: " + hs->stream_id_ + "-0\nretry: 1000\ndata: \n\n";
    }
    if (resume_key) register_stream(*resume_key, hs);
    if (!monitoring) start_monitor(stream, hs, gen);
    co_return co_await pump(stream, hs, std::move(out), 0, gen, resume_key);
  }

  // Writes a POST's SSE events until its response went out (then ends the stream), the client
  // went away, or the handler asked to close the stream (resumable streams only).
  awaitable<bool> pump(beast::tcp_stream& stream, std::shared_ptr<HttpStream> hs, std::string out,
                       std::uint64_t after_seq, std::uint64_t gen,
                       std::optional<std::string> session_id) {
    for (;;) {
      bool finished = false, detach = false;
      {
        std::lock_guard g(hs->mu_);
        if (hs->resumable_) {
          for (auto& e : hs->events_) hs->history_.emplace_back(hs->next_seq_++, std::move(e));
          hs->events_.clear();
          if (hs->has_final_ && !hs->final_recorded_) {
            hs->history_.emplace_back(hs->next_seq_++, hs->final_);
            hs->final_recorded_ = true;
          }
          for (auto& [seq, text] : hs->history_)
            if (seq > after_seq) {
              out +=
                  "id: " + hs->stream_id_ + "-" + std::to_string(seq) + "\ndata: " + text + "\n\n";
              after_seq = seq;
            }
          finished = hs->final_recorded_ || hs->abandoned_ || hs->closed_;
          if (!finished && (hs->close_requested_ || !hs->attached_ || gen != hs->generation_)) {
            hs->close_requested_ = false;
            detach = true;
          }
        } else {
          for (auto& e : hs->events_) out += "data: " + e + "\n\n";
          hs->events_.clear();
          if (hs->has_final_) {
            out += "data: " + hs->final_ + "\n\n";
            finished = true;
          }
          if (hs->abandoned_ || hs->closed_) finished = true;
        }
      }
      if (!out.empty() && !co_await write_raw(stream, out)) {
        hs->connection_lost(gen);
        co_return false;
      }
      out.clear();
      if (finished) {
        if (session_id) unregister_stream(*session_id, hs);
        co_return false;
      }
      if (detach) co_return false;  // the client resumes with GET + Last-Event-ID
      if (co_await hs->wait_for_wake(opt.sse_keepalive)) out = ": keepalive\n\n";
    }
  }

  void register_stream(const std::string& sid, const std::shared_ptr<HttpStream>& hs) {
    std::lock_guard lk(mu);
    auto it = sessions.find(sid);
    if (it == sessions.end()) return;
    auto& m = it->second.streams;
    if (m.size() >= 64) m.erase(m.begin());  // bound what an abandoned client can pin
    m[hs->stream_id_] = hs;
  }

  void unregister_stream(const std::string& sid, const std::shared_ptr<HttpStream>& hs) {
    std::lock_guard lk(mu);
    auto it = sessions.find(sid);
    if (it == sessions.end()) return;
    auto s2 = it->second.streams.find(hs->stream_id_);
    if (s2 != it->second.streams.end() && s2->second == hs) it->second.streams.erase(s2);
  }

  std::shared_ptr<HttpStream> find_stream(const std::string& sid, const std::string& stream_id) {
    std::lock_guard lk(mu);
    auto it = sessions.find(sid);
    if (it == sessions.end()) return nullptr;
    auto s2 = it->second.streams.find(stream_id);
    return s2 == it->second.streams.end() ? nullptr : s2->second;
  }

  // A long-lived SSE stream (GET /mcp, GET /sse): events until the peer goes away.
  awaitable<bool> serve_sse(beast::tcp_stream& stream, const Request& req,
                            std::shared_ptr<HttpStream> hs, std::string first) {
    std::string out = sse_headers(req, {}) + first;
    start_monitor(stream, hs);
    for (;;) {
      {
        std::lock_guard g(hs->mu_);
        for (auto& e : hs->events_)
          out += hs->kind_ == HttpStream::Kind::kLegacySse ? "event: message\ndata: " + e + "\n\n"
                                                           : "data: " + e + "\n\n";
        hs->events_.clear();
        if (hs->closed_) co_return false;
      }
      if (!out.empty() && !co_await write_raw(stream, out)) {
        hs->peer_closed();
        co_return false;
      }
      out.clear();
      if (co_await hs->wait_for_wake(opt.sse_keepalive)) out = ": keepalive\n\n";
    }
  }

  // --- routing
  // -------------------------------------------------------------------------------------
  // Serves one request from `peer` (its IP address). Returns whether the connection stays open.
  awaitable<bool> route(beast::tcp_stream& stream, Request& req, const std::string& peer) {
    auto target = std::string_view(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query = target.find('?') == std::string_view::npos
                                 ? std::string_view()
                                 : target.substr(target.find('?') + 1);

    if (!host_allowed(req) || !origin_allowed(req)) {
      Response r = make(req, http::status::forbidden,
                        error_body(nullptr, error_code::kInvalidRequest,
                                   "Forbidden: Host or Origin not allowed"));
      r.keep_alive(false);  // nothing more to serve on it
      co_return co_await write(stream, std::move(r));
    }
    if (req.method() == http::verb::options) {
      Response r = make(req, http::status::no_content, "");
      r.set(http::field::access_control_allow_methods, "GET, POST, DELETE, OPTIONS");
      std::string allow =
          "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, "
          "Last-Event-ID, Mcp-Method, Mcp-Name";
      if (auto rh = header(req, "Access-Control-Request-Headers"); !rh.empty()) allow += ", " + rh;
      r.set(http::field::access_control_allow_headers, allow);
      r.set(http::field::access_control_max_age, "86400");
      co_return co_await write(stream, std::move(r));
    }
    if (path.substr(0, 13) == "/.well-known/") {
      if (opt.auth && req.method() == http::verb::get &&
          (path == "/.well-known/oauth-protected-resource" ||
           path == "/.well-known/oauth-protected-resource" + opt.path)) {
        bj::object prm{{"resource", resource_url(req)}};
        bj::array as, sc;
        for (auto& a : opt.auth->authorization_servers) as.emplace_back(a);
        for (auto& s : opt.auth->scopes_supported) sc.emplace_back(s);
        prm["authorization_servers"] = std::move(as);
        if (!sc.empty()) prm["scopes_supported"] = std::move(sc);
        prm["bearer_methods_supported"] = bj::array{"header"};
        co_return co_await write(stream, make(req, http::status::ok, jsonio::to_string(prm)));
      }
      co_return co_await write(stream,
                               make(req, http::status::not_found, "{\"error\":\"not_found\"}"));
    }
    bool is_mcp = path == opt.path;
    bool is_sse = opt.legacy_sse && path == opt.sse_path;
    bool is_msg = opt.legacy_sse && path == opt.messages_path;
    bool is_metrics = !opt.metrics_path.empty() && path == opt.metrics_path;
    if (!is_mcp && !is_sse && !is_msg && !is_metrics)
      co_return co_await write(stream,
                               make(req, http::status::not_found,
                                    error_body(nullptr, error_code::kInvalidRequest, "Not found")));

    std::optional<Response> deny;
    std::optional<Principal> principal = authenticate(req, deny);
    if (deny) co_return co_await write(stream, std::move(*deny));

    if (is_metrics) {
      // Same protection as /mcp (Host/Origin above, bearer token when auth is on).
      if (req.method() != http::verb::get)
        co_return co_await write(stream, method_not_allowed(req, "GET"));
      // The application's metric sources may block (a backend's stats() may query its store),
      // so the text is rendered on a thread of its own, never on the I/O thread.
      auto [ep, text] = co_await asio::co_spawn(
          scrape_pool, [this]() -> awaitable<std::string> { co_return server.metrics_text(); },
          tuple_awaitable);
      if (ep) {
        // The detail stays in the log: exception texts may name the server's source files.
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          spdlog::error("mcp http: rendering metrics failed: {}", e.what());
        } catch (...) {
          spdlog::error("mcp http: rendering metrics failed");
        }
        co_return co_await write(
            stream, make(req, http::status::internal_server_error, "metrics unavailable\n",
                         "text/plain; charset=utf-8"));
      }
      Response r = make(req, http::status::ok, std::move(text), metrics::kContentType);
      r.set(http::field::cache_control, "no-store");
      co_return co_await write(stream, std::move(r));
    }

    if (is_sse) {
      if (req.method() != http::verb::get)
        co_return co_await write(stream, method_not_allowed(req, "GET"));
      co_return co_await legacy_sse_stream(stream, req, principal, peer);
    }
    if (is_msg) {
      if (req.method() != http::verb::post)
        co_return co_await write(stream, method_not_allowed(req, "POST"));
      co_return co_await legacy_sse_post(stream, req, query, principal, peer);
    }
    if (req.method() == http::verb::post) co_return co_await mcp_post(stream, req, principal, peer);
    if (req.method() == http::verb::get) co_return co_await mcp_get(stream, req, principal);
    if (req.method() == http::verb::delete_) co_return co_await mcp_delete(stream, req, principal);
    co_return co_await write(stream, method_not_allowed(req, "GET, POST, DELETE, OPTIONS"));
  }

  Response method_not_allowed(const Request& req, const char* allow) {
    Response r = make(req, http::status::method_not_allowed,
                      error_body(nullptr, error_code::kInvalidRequest, "Method not allowed"));
    r.set(http::field::allow, allow);
    return r;
  }

  // Modern-era requests select themselves by header or _meta; legacy ones carry a session.
  bool modern_request(const Request& req, const bj::value& msg) const {
    std::string v(trim(header(req, "MCP-Protocol-Version")));
    if (!v.empty()) return !is_legacy_version(v);
    return Server::is_modern_message(msg);
  }

  static bool accepts_sse(const Request& req) {
    std::string accept = lower(header(req, "Accept"));
    return accept.empty() || accept.find("text/event-stream") != std::string::npos ||
           accept.find("*/*") != std::string::npos;
  }

  std::shared_ptr<HttpStream> post_stream(beast::tcp_stream& stream, const Request& req) {
    auto hs = new_stream(stream, HttpStream::Kind::kPost);
    hs->json_only_ = !accepts_sse(req);
    return hs;
  }

  awaitable<bool> mcp_post(beast::tcp_stream& stream, Request& req,
                           const std::optional<Principal>& principal, const std::string& peer) {
    std::string ctype = lower(header(req, "Content-Type"));
    if (ctype.find("application/json") == std::string::npos)
      co_return co_await write(stream, make(req, http::status::unsupported_media_type,
                                            error_body(nullptr, error_code::kInvalidRequest,
                                                       "Content-Type must be application/json")));
    std::error_code ec;
    bj::value msg = jsonio::parse(
        req.body(), ec, {.max_depth = opt.max_json_depth, .max_bytes = opt.max_body_bytes});
    if (ec)
      co_return co_await write(stream, make(req, http::status::bad_request,
                                            error_body(nullptr, error_code::kParseError,
                                                       "Parse error: " + ec.message())));
    bj::object* obj = msg.if_object();
    bj::value id = nullptr;
    std::string method;
    bool is_request = false;
    if (obj) {
      if (auto it = obj->find("id");
          it != obj->end() && (it->value().is_string() || it->value().is_number()))
        id = it->value();
      if (auto it = obj->find("method"); it != obj->end() && it->value().is_string()) {
        method = std::string(it->value().get_string());
        is_request = obj->contains("id");
      }
    }
    std::vector<std::pair<std::string, std::string>> extra;
    MessageInfo info;
    info.principal = principal;
    info.peer_address = peer;

    if (modern_request(req, msg)) {
      // SEP-2243: the routing headers must agree with the body.
      std::string hv(trim(header(req, "MCP-Protocol-Version")));
      if (!hv.empty()) info.protocol_version_header = hv;
      info.modern_http = true;
      auto mismatch = [&](const std::string& why) -> Response {
        return make(req, http::status::bad_request,
                    error_body(id, error_code::kHeaderMismatch, "Header mismatch: " + why));
      };
      if (obj && !method.empty()) {
        if (hv.empty())
          co_return co_await write(stream, mismatch("MCP-Protocol-Version header is required"));
        if (!has_header(req, "Mcp-Method"))
          co_return co_await write(stream, mismatch("Mcp-Method header is required"));
        if (trim(header(req, "Mcp-Method")) != method)
          co_return co_await write(stream, mismatch("Mcp-Method does not match the body"));
        const char* name_key =
            (method == "tools/call" || method == "prompts/get") ? "name"
            : method == "resources/read"                        ? "uri"
            : (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel")
                ? "taskId"  // SEP-2663 routing header
                : nullptr;
        if (name_key) {
          std::string body_name;
          if (auto* p = obj->contains("params") ? obj->at("params").if_object() : nullptr)
            if (auto it = p->find(name_key); it != p->end() && it->value().is_string())
              body_name = std::string(it->value().get_string());
          std::string hname;
          if (!has_header(req, "Mcp-Name"))
            co_return co_await write(stream, mismatch("Mcp-Name header is required"));
          if (!decode_header_value(header(req, "Mcp-Name"), hname) || hname != body_name)
            co_return co_await write(stream, mismatch("Mcp-Name does not match the body"));
        }
        if (method == "tools/call") {
          auto hp = server.tool_header_params(std::string(trim(header(req, "Mcp-Name"))));
          const bj::object* args = nullptr;
          if (auto* p = obj->contains("params") ? obj->at("params").if_object() : nullptr)
            if (auto* a = p->if_contains("arguments")) args = a->if_object();
          for (const auto& [prop, suffix] : hp) {
            const bj::value* v = args ? args->if_contains(prop) : nullptr;
            std::string hname = "Mcp-Param-" + suffix;
            bool present = has_header(req, hname);
            if (!v || v->is_null()) {
              if (present)
                co_return co_await write(stream,
                                         mismatch(hname + " given but the argument is absent"));
              continue;
            }
            if (!present) co_return co_await write(stream, mismatch(hname + " header is required"));
            std::string decoded;
            std::string expected =
                v->is_string() ? std::string(v->get_string()) : jsonio::to_string(*v);
            if (!decode_header_value(header(req, hname), decoded) || decoded != expected)
              co_return co_await write(stream, mismatch(hname + " does not match the body"));
          }
        }
      }
      if (!is_request) {
        auto hs = post_stream(stream, req);
        server.handle(stateless, std::move(msg), hs, info);
        co_return co_await serve_post(stream, req, hs, extra);
      }
      auto hs = post_stream(stream, req);
      server.handle(stateless, std::move(msg), hs, info);
      co_return co_await serve_post(stream, req, hs, extra);
    }

    // Legacy era.
    std::shared_ptr<Session> session;
    std::string sid(trim(header(req, "Mcp-Session-Id")));
    if (is_request && method == "initialize") {
      if (!sid.empty() && find_session(sid, principal))
        co_return co_await write(stream, make(req, http::status::bad_request,
                                              error_body(id, error_code::kInvalidRequest,
                                                         "Session already initialized")));
      auto created = create_session(principal, peer);
      if (!created.session)
        co_return co_await write(stream, too_many_sessions(req, id, created.refusal));
      session = std::move(created.session);
      extra.emplace_back("Mcp-Session-Id", session->id());
    } else {
      if (sid.empty())
        co_return co_await write(
            stream, make(req, http::status::bad_request,
                         error_body(id, error_code::kInvalidRequest,
                                    "Bad Request: Mcp-Session-Id header is required")));
      Lookup why;
      session = find_session(sid, principal, &why);
      if (!session) co_return co_await write(stream, session_refused(req, id, why));
      std::string hv(trim(header(req, "MCP-Protocol-Version")));
      if (!hv.empty() && !is_legacy_version(hv))
        co_return co_await write(stream,
                                 make(req, http::status::bad_request,
                                      error_body(id, error_code::kInvalidRequest,
                                                 "Unsupported MCP-Protocol-Version: " + hv)));
    }
    // SSE answers of 2025-11-25 sessions are resumable (priming event, Last-Event-ID).
    std::optional<std::string> resume_key;
    if (is_request && method != "initialize" &&
        session->protocol_version() >= std::string("2025-11-25"))
      resume_key = session->id();
    auto hs = post_stream(stream, req);
    server.handle(session, std::move(msg), hs, info);
    co_return co_await serve_post(stream, req, hs, std::move(extra), resume_key);
  }

  awaitable<bool> mcp_get(beast::tcp_stream& stream, Request& req,
                          const std::optional<Principal>& principal) {
    std::string sid(trim(header(req, "Mcp-Session-Id")));
    std::string accept = lower(header(req, "Accept"));
    if (sid.empty())
      co_return co_await write(stream, method_not_allowed(req, "POST"));  // modern: POST only
    if (accept.find("text/event-stream") == std::string::npos)
      co_return co_await write(stream, make(req, http::status::not_acceptable,
                                            error_body(nullptr, error_code::kInvalidRequest,
                                                       "Accept must include text/event-stream")));
    Lookup why;
    auto session = find_session(sid, principal, &why);
    if (!session) co_return co_await write(stream, session_refused(req, nullptr, why));
    if (std::string last(trim(header(req, "Last-Event-ID"))); !last.empty()) {
      // Resumption: replay the named POST stream after the given event, then continue it.
      auto dash = last.rfind('-');
      std::shared_ptr<HttpStream> hs =
          dash == std::string::npos ? nullptr : find_stream(sid, last.substr(0, dash));
      if (hs) {
        std::uint64_t after = std::strtoull(last.c_str() + dash + 1, nullptr, 10), gen;
        {
          std::lock_guard g(hs->mu_);
          gen = ++hs->generation_;
          hs->attached_ = true;
        }
        start_monitor(stream, hs, gen);
        co_return co_await pump(stream, hs, sse_headers(req, {}), after, gen, sid);
      }
    }
    auto hs = new_stream(stream, HttpStream::Kind::kStandalone);
    if (auto old = session->standalone()) static_cast<HttpStream*>(old.get())->peer_closed();
    session->set_standalone(hs);
    std::string first =
        "id: " + crypto::random_hex(6) + "-0\ndata: \n\n";  // priming event (SEP-1699)
    bool keep = co_await serve_sse(stream, req, hs, first);
    if (session->standalone() == hs) session->set_standalone(nullptr);
    co_return keep;
  }

  awaitable<bool> mcp_delete(beast::tcp_stream& stream, Request& req,
                             const std::optional<Principal>& principal) {
    std::string sid(trim(header(req, "Mcp-Session-Id")));
    if (sid.empty()) co_return co_await write(stream, method_not_allowed(req, "POST"));
    Lookup why;
    if (!find_session(sid, principal, &why))
      co_return co_await write(stream, session_refused(req, nullptr, why));
    end_session(sid);
    co_return co_await write(stream, make(req, http::status::ok, ""));
  }

  awaitable<bool> legacy_sse_stream(beast::tcp_stream& stream, Request& req,
                                    const std::optional<Principal>& principal,
                                    const std::string& peer) {
    auto session = std::make_shared<Session>(crypto::random_hex(16), TransportKind::kLegacySse);
    if (principal) session->set_principal_subject(principal->subject);
    auto hs = new_stream(stream, HttpStream::Kind::kLegacySse);
    session->set_standalone(hs);
    const std::string owner = owner_key(principal, peer);
    {
      // The stream holds its place while it is open; it needs no reaping.
      const char* refusal = nullptr;
      {
        std::lock_guard lk(mu);
        if (sse_sessions.size() >= opt.max_sessions)
          refusal = "Too many sessions";
        else if (owned_locked(owner) >= owner_cap(principal.has_value()))
          refusal = owner_refusal(principal.has_value());
        else {
          sse_sessions[session->id()] = SseSessionEntry{session, owner};
          ++owner_sessions[owner];
        }
      }
      if (refusal) co_return co_await write(stream, too_many_sessions(req, nullptr, refusal));
    }
    server.attach(session);
    std::string first =
        "event: endpoint\ndata: " + opt.messages_path + "?sessionId=" + session->id() + "\n\n";
    co_await serve_sse(stream, req, hs, first);
    {
      std::lock_guard lk(mu);
      if (sse_sessions.erase(session->id()) > 0) release_owner_locked(owner);
    }
    server.detach(session);
    co_return false;
  }

  Response too_many_sessions(const Request& req, const bj::value& id, const char* why) {
    Response r = make(req, http::status::service_unavailable,
                      error_body(id, error_code::kInternalError, why));
    r.set(http::field::retry_after, "10");
    return r;
  }

  // The answer to a request naming a session that find_session() would not give it.
  Response session_refused(const Request& req, const bj::value& id, Lookup why) {
    if (why == Lookup::kForeign)
      return make(
          req, http::status::forbidden,
          error_body(id, error_code::kInvalidRequest, "Session belongs to another principal"));
    return make(req, http::status::not_found,
                error_body(id, error_code::kInvalidRequest, "Session not found"));
  }

  awaitable<bool> legacy_sse_post(beast::tcp_stream& stream, Request& req, std::string_view query,
                                  const std::optional<Principal>& principal,
                                  const std::string& peer) {
    std::string sid;
    for (std::string_view rest = query; !rest.empty();) {
      auto amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      if (kv.substr(0, 10) == "sessionId=") sid = std::string(kv.substr(10));
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    }
    std::shared_ptr<Session> session;
    {
      std::lock_guard lk(mu);
      auto it = sse_sessions.find(sid);
      if (it != sse_sessions.end()) session = it->second.session;
    }
    if (!session)
      co_return co_await write(
          stream, make(req, http::status::not_found,
                       error_body(nullptr, error_code::kInvalidRequest, "Session not found")));
    if (auto subj = session->principal_subject();
        subj && (!principal || principal->subject != *subj))
      co_return co_await write(stream,
                               make(req, http::status::forbidden,
                                    error_body(nullptr, error_code::kInvalidRequest, "Forbidden")));
    std::error_code ec;
    bj::value msg = jsonio::parse(
        req.body(), ec, {.max_depth = opt.max_json_depth, .max_bytes = opt.max_body_bytes});
    if (ec)
      co_return co_await write(stream,
                               make(req, http::status::bad_request,
                                    error_body(nullptr, error_code::kParseError, "Parse error")));
    MessageInfo info;
    info.principal = principal;
    info.peer_address = peer;
    auto out = session->standalone();
    if (!out)  // the stream just closed; the session is going away
      co_return co_await write(
          stream, make(req, http::status::not_found,
                       error_body(nullptr, error_code::kInvalidRequest, "Session not found")));
    server.handle(session, std::move(msg), out, info);
    co_return co_await write(stream, make(req, http::status::accepted, "Accepted", "text/plain"));
  }

  // --- connections ------------------------------------------------------------------------
  // Answers a request whose body is over max_body_bytes with 413 and a lingering close.
  awaitable<void> refuse_large_body(beast::tcp_stream& stream, unsigned version) {
    server.transport_metrics().count_http_response(413);
    Response res{http::status::payload_too_large, version};
    res.set(http::field::content_type, "application/json");
    res.body() = error_body(nullptr, error_code::kInvalidRequest, "Payload too large");
    res.keep_alive(false);
    res.prepare_payload();
    co_await write(stream, std::move(res));
    // Lingering close: stop sending, then drain (bounded) what the client is still
    // uploading, so it reads our 413 instead of a connection reset.
    boost::system::error_code sec;
    stream.socket().shutdown(tcp::socket::shutdown_send, sec);
    stream.expires_after(std::chrono::seconds(2));
    std::vector<char> scratch(std::size_t{64} * 1024);
    for (std::size_t drained = 0; drained < (64u << 20);) {
      auto [rec, got] = co_await stream.async_read_some(asio::buffer(scratch), tuple_awaitable);
      if (rec) break;
      drained += got;
    }
  }

  awaitable<void> connection(tcp::socket socket, std::string peer) {
    struct Live {
      std::atomic<std::size_t>& n;
      ~Live() { n.fetch_sub(1); }
    } live{live_connections};
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    std::uint64_t conn_id;
    {
      std::lock_guard lk(conn_mu);
      conn_id = next_conn++;
      conns.emplace(conn_id, &stream);
    }
    struct Unregister {
      Impl* self;
      std::uint64_t id;
      ~Unregister() {
        std::lock_guard lk(self->conn_mu);
        self->conns.erase(id);
      }
    } unregister{this, conn_id};
    // The first request's header must be in within header_timeout of the connection's start:
    // a connection that sends nothing, half a header, or a header a byte at a time (slowloris)
    // holds its descriptor that long, not idle_connection_timeout.
    stream.expires_after(opt.header_timeout);
    for (bool first = true;; first = false) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(opt.max_body_bytes);
      parser.header_limit(64 * 1024);
      if (!first) {
        // Between requests a kept-alive connection may idle; the next header has
        // header_timeout from its first byte.
        if (buffer.size() == 0) {
          stream.expires_after(opt.idle_connection_timeout);
          auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), tuple_awaitable);
          if (ec) break;
          buffer.commit(n);
        }
        stream.expires_after(opt.header_timeout);
      }
      auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
      (void)hn;
      if (hec == http::error::body_limit) {  // a Content-Length over the limit
        co_await refuse_large_body(stream, parser.get().version());
        break;
      }
      if (hec) break;
      stream.expires_after(opt.idle_connection_timeout);  // the body
      if (!parser.is_done()) {
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
        (void)n;
        if (ec == http::error::body_limit) {
          co_await refuse_large_body(stream, parser.get().version());
          break;
        }
        if (ec) break;
      }
      stream.expires_never();
      Request req = parser.release();
      bool keep = false;
      try {
        keep = co_await route(stream, req, peer);
      } catch (const std::exception& e) {
        spdlog::warn("mcp http: request failed: {}", e.what());
        keep = false;
      }
      if (!keep) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }

  // A connection beyond max_connections: a 503 (read by clients that read before they send,
  // e.g. with a lingering close) and the end. At most 64 such goodbyes are in progress; beyond,
  // connections are closed at once, so that refusing costs next to nothing.
  awaitable<void> refuse_connection(tcp::socket socket) {
    struct Count {
      std::atomic<int>& n;
      ~Count() { n.fetch_sub(1); }
    } count{refusing};
    static const std::string kAnswer = [] {
      std::string body = Server::error_response(nullptr, error_code::kInternalError,
                                                "Server busy: too many connections");
      return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
             "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    server.transport_metrics().count_http_response(503);
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(std::chrono::seconds(1));
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kAnswer), tuple_awaitable);
    (void)n;
    boost::system::error_code ignored;
    if (!ec) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      char scratch[4096];
      for (int i = 0; i < 16; ++i) {
        auto [rec, got] = co_await stream.async_read_some(asio::buffer(scratch), tuple_awaitable);
        (void)got;
        if (rec) break;
      }
    }
    stream.close();
  }

  // Expired legacy sessions are dropped every 30 s (and on access), and sessions that were
  // never used after their initialize within session_init_timeout, so abandoned clients and
  // initialize floods do not pin places until the cap is reached.
  awaitable<void> sweep_loop() {
    using std::chrono::milliseconds;
    milliseconds period = std::chrono::seconds(30);
    if (opt.session_init_timeout.count() > 0)
      period = std::clamp<milliseconds>(opt.session_init_timeout / 2, milliseconds(100), period);
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
      t.expires_after(period);
      auto [ec] = co_await t.async_wait(tuple_awaitable);
      if (ec) co_return;
      std::vector<std::shared_ptr<Session>> gone;
      {
        std::lock_guard lk(mu);
        gone = reap_locked(std::chrono::steady_clock::now());
      }
      for (auto& x : gone) retire(x, /*expired=*/true);
    }
  }

  static bool out_of_descriptors(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors ||                         // EMFILE
           ec == boost::system::errc::too_many_files_open_in_system ||  // ENFILE
           ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
  }

  awaitable<void> accept_loop() {
    using std::chrono::milliseconds;
    asio::steady_timer pause(ioc);
    milliseconds backoff{0};
    std::chrono::steady_clock::time_point last_report{};
    std::uint64_t pauses = 0;
    for (;;) {
      auto strand = asio::make_strand(ioc);
      auto [ec, socket] = co_await acceptor.async_accept(strand, tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (!out_of_descriptors(ec)) continue;  // e.g. the client gave up before we accepted
        // The pending connection stays in the listen queue and the acceptor stays readable:
        // retrying at once would spin a core until a descriptor frees. Pause instead, 50 ms
        // doubling to 1 s, and say so once per 10 s.
        backoff = std::min(milliseconds(1000), backoff.count() ? backoff * 2 : milliseconds(50));
        ++pauses;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report >= std::chrono::seconds(10)) {
          const std::size_t open_now = live_connections.load();
          spdlog::warn(
              "mcp http: out of file descriptors accepting connections ({}; {} open, {} pauses "
              "so far): accepting pauses up to 1 s at a time until descriptors free",
              ec.message(), open_now, pauses);
          last_report = now;
        }
        pause.expires_after(backoff);
        auto [pec] = co_await pause.async_wait(tuple_awaitable);
        if (pec || !acceptor.is_open()) co_return;
        continue;
      }
      backoff = milliseconds(0);
      if (live_connections.load() >= opt.max_connections) {
        if (refusing.fetch_add(1) < 64) {
          asio::co_spawn(strand, refuse_connection(std::move(socket)), asio::detached);
        } else {
          refusing.fetch_sub(1);
          boost::system::error_code ignored;
          socket.close(ignored);
        }
        continue;
      }
      boost::system::error_code pec;
      auto remote = socket.remote_endpoint(pec);
      if (pec) continue;  // already gone
      live_connections.fetch_add(1);
      asio::co_spawn(strand, connection(std::move(socket), peer_text(remote)), asio::detached);
    }
  }
};

HttpServer::HttpServer(Server& server, HttpOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
  // Calls still running hold response streams whose timers belong to our io_context: wait for
  // them (they were cancelled by stop()), and if one will not finish, leak the I/O state rather
  // than free it under a running handler.
  if (!impl_->server.wait_idle(std::chrono::seconds(10))) {
    spdlog::error("mcp http: handlers still running 10 s after stop; leaking the I/O context");
    (void)impl_.release();
  }
}

void HttpServer::start() {
  auto& I = *impl_;
  for (const auto* list : {&I.opt.allowed_hosts, &I.opt.allowed_origins})
    for (const auto& a : *list)
      if (trim(a) == "*")
        throw std::invalid_argument(
            "HttpOptions: \"*\" in allowed_hosts or allowed_origins is not a host name; to "
            "accept any Host and Origin (DNS-rebinding protection off), set "
            "HttpOptions::allow_any_host (flag --allow-any-host)");
  tcp::endpoint ep(asio::ip::make_address(I.opt.host), I.opt.port);
  I.acceptor.open(ep.protocol());
  I.acceptor.set_option(asio::socket_base::reuse_address(true));
  I.acceptor.bind(ep);
  I.acceptor.listen(asio::socket_base::max_listen_connections);
  I.bound_port = I.acceptor.local_endpoint().port();
  if (I.opt.allow_any_host || !I.opt.validate_host_origin)
    spdlog::warn(
        "mcp http: any Host and Origin header is accepted (allow_any_host): DNS-rebinding "
        "protection is off, so a web page a local user visits may drive this server");
  if (!ep.address().is_loopback() && !I.opt.auth)
    spdlog::warn(
        "mcp http: listening on {} without authentication: anyone who can reach this address "
        "may call every tool; configure bearer-token auth or bind a loopback address",
        I.opt.host);
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
                    lim.rlim_cur < I.opt.max_connections + 64)
    spdlog::warn(
        "mcp http: max_connections ({}) is not below the process's limit of open files ({}, "
        "less 64 for everything else): raise the limit (ulimit -n) or lower max_connections",
        I.opt.max_connections, static_cast<std::uint64_t>(lim.rlim_cur));
  I.work.emplace(I.ioc.get_executor());
  asio::co_spawn(I.ioc, I.accept_loop(), asio::detached);
  asio::co_spawn(I.ioc, I.sweep_loop(), asio::detached);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, I.opt.io_threads); ++i)
    I.threads.emplace_back([&I] { I.ioc.run(); });
}

std::uint16_t HttpServer::port() const {
  return impl_->bound_port;
}

void HttpServer::wait() {
  std::unique_lock lk(impl_->mu);
  impl_->stopped_cv.wait(lk, [&] { return impl_->stopped; });
}

void HttpServer::stop() {
  auto& I = *impl_;
  {
    std::lock_guard lk(I.mu);
    if (I.stopped) return;
    I.stopped = true;
  }
  I.stopped_cv.notify_all();
  asio::post(I.ioc, [&I] {
    boost::system::error_code ec;
    I.acceptor.close(ec);
  });
  // End every response stream (cancelling its request) and close every connection on its own
  // strand, then give the coroutines a moment to unwind before stopping the loop.
  std::vector<std::shared_ptr<HttpStream>> live;
  {
    std::lock_guard lk(I.conn_mu);
    for (auto& w : I.streams_alive)
      if (auto p = w.lock()) live.push_back(p);
    I.streams_alive.clear();
    for (auto& [id, st] : I.conns) {
      asio::post(st->get_executor(), [&I, cid = id] {
        std::lock_guard g(I.conn_mu);
        auto it = I.conns.find(cid);
        if (it == I.conns.end()) return;
        boost::system::error_code ec;
        it->second->socket().shutdown(tcp::socket::shutdown_both, ec);
        it->second->socket().close(ec);
      });
    }
  }
  for (auto& hs : live) hs->peer_closed();
  live.clear();
  if (!I.threads.empty())
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard lk(I.conn_mu);
        if (I.conns.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  I.work.reset();
  I.ioc.stop();
  for (auto& t : I.threads)
    if (t.joinable()) t.join();
  I.threads.clear();
  std::vector<std::shared_ptr<Session>> all;
  {
    std::lock_guard lk(I.mu);
    for (auto& [k, e] : I.sessions) all.push_back(e.session);
    for (auto& [k, e] : I.sse_sessions) all.push_back(e.session);
    I.sessions.clear();
    I.sse_sessions.clear();
    I.owner_sessions.clear();
  }
  for (auto& s : all) {
    I.server.detach(s);
    s->set_standalone(nullptr);
  }
  I.server.detach(I.stateless);  // drops modern subscriptions/listen streams
}

}  // namespace mcp
