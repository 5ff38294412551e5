// The client's HTTP transports: one Boost.Asio I/O thread whose coroutines run the POST of each
// message (its JSON or SSE answer) on a kept-alive connection or a new one, the 2025-11-25
// standalone GET stream and the resumption of broken response streams, the DELETE of close(), and
// the legacy HTTP+SSE stream with its endpoint.
#include "mcp/client_http.hpp"

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "asio_coroutines.hpp"  // a GCC false positive off: see there
#include "client_http_conn.hpp"
#include "client_http_url.hpp"
#include "client_log.hpp"
#include "crypto.hpp"
#include "mcp/client_oauth.hpp"
#include "sse_parser.hpp"

namespace mcp {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
using asio::awaitable;
using std::chrono::milliseconds;
using Kind = ClientError::Kind;
using http_client::Conn;
using http_client::endpoint_target;
using http_client::Exchange;
using http_client::lower;
using http_client::parse_url;
using http_client::query_param;
using http_client::Url;

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
// Largest error body read for its message (an HTTP error status without a JSON-RPC answer).
constexpr std::size_t kMaxErrorBody = std::size_t{64} * 1024;
// Failed attempts in a row to reopen the standalone stream before the server counts as gone.
constexpr int kMaxStandaloneFailures = 3;
// Authorizations (mcp/client_oauth.hpp) one message may go through: a 401, then a 403 for more
// scope, then one more refusal.
constexpr int kMaxAuthRounds = 3;
// Kept-alive connections waiting for the next POST, at most; and how long one waits at most
// (shorter than the 5 s idle timeout of common servers, so that a server rarely closes one just
// as a request goes out on it; a shorter `Keep-Alive: timeout=N` of the server, less 1 s, wins).
constexpr std::size_t kMaxIdleConnections = 8;
constexpr milliseconds kIdleLifetime{4000};

// A header value as the modern era writes it: plain visible ASCII as it is, anything else
// (non-ASCII, control characters, edge spaces) as =?base64?...?=.
std::string header_value(std::string_view v) {
  bool plain = v.empty() || (v.front() != ' ' && v.back() != ' ' && v.substr(0, 2) != "=?");
  for (unsigned char c : v)
    if (c < 0x20 || c > 0x7e) plain = false;
  if (plain) return std::string(v);
  return "=?base64?" + crypto::base64_encode(v) + "?=";
}

std::string id_key(const bj::value& id) {
  return bj::serialize(id);
}

// Whether `text` is a JSON-RPC response (result or error) whose id is `key`.
bool answers(std::string_view text, const std::string& key) {
  boost::system::error_code ec;
  bj::parse_options po;
  po.max_depth = 256;
  bj::value v = bj::parse(text, ec, {}, po);
  if (ec) return false;
  const bj::object* o = v.if_object();
  if (!o || o->contains("method")) return false;
  const bj::value* id = o->if_contains("id");
  if (!id || (!o->contains("result") && !o->contains("error"))) return false;
  return id_key(*id) == key;
}

struct RpcError {
  int code = 0;
  std::string message;
  bj::value data;
};

// The error of a JSON-RPC error response without an id (id null or absent), if `text` is one.
std::optional<RpcError> unattributed_error(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  const bj::object* o = ec ? nullptr : v.if_object();
  if (!o) return std::nullopt;
  if (const bj::value* id = o->if_contains("id"); id && !id->is_null()) return std::nullopt;
  const bj::value* e = o->if_contains("error");
  const bj::object* eo = e ? e->if_object() : nullptr;
  if (!eo) return std::nullopt;
  const bj::value* code = eo->if_contains("code");
  const bj::value* message = eo->if_contains("message");
  if (!code || !code->is_int64() || !message || !message->is_string()) return std::nullopt;
  RpcError out;
  out.code = static_cast<int>(code->get_int64());
  out.message = std::string(message->get_string());
  if (const bj::value* d = eo->if_contains("data")) out.data = *d;
  return out;
}

// The first bytes of an error body, on one line, for a message.
std::string excerpt(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string what_of(const OutgoingMessage& m) {
  if (m.method.empty()) return "a response";
  return m.name.empty() ? m.method : m.method + " " + m.name;
}

}  // namespace

// One life of the transport (start() to close()): the I/O thread and everything it owns. All
// members but `mu`'s are touched only on the I/O thread (or after it was joined).
struct HttpRun {
  StreamableHttpClientOptions opt;
  Url url;
  ClientTransportCallbacks cb;
  std::unique_ptr<asio::io_context> ioc = std::make_unique<asio::io_context>(1);
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io;

  // Open connections, so that close() and cancellation can end them.
  std::uint64_t next_stream = 0;
  std::map<std::uint64_t, std::weak_ptr<Conn>> streams;
  // https://: the TLS client context (the system's trusted roots, plus ca_file).
  std::optional<asio::ssl::context> tls_ctx;
  std::map<std::string, std::uint64_t> request_stream;  // request id -> its connection
  std::set<std::string> cancelled;  // requests whose connection was closed to cancel them
  // Kept-alive connections between POSTs (newest last), each with the time it may wait until.
  struct Idle {
    std::shared_ptr<Conn> conn;
    std::chrono::steady_clock::time_point until;
  };
  std::vector<Idle> idle;
  bool delivered = false;  // closed() was delivered
  bool reached = false;    // a connection to the server was made once
  bool standalone_started = false;
  // Legacy HTTP+SSE: messages go to `post_target` (the endpoint event's path and query), and
  // start() waits on `ready` ("" once the endpoint is known, else why there is none).
  bool sse_mode = false;
  std::string post_target;
  std::optional<std::promise<std::string>> ready;
  // Legacy HTTP+SSE: the stream's GET waits for an authorization (start() waits longer).
  std::atomic<bool> sse_authorizing{false};

  mutable std::mutex mu;
  std::string session;        // Mcp-Session-Id
  std::string closed_reason;  // once closed() was delivered (or is about to be)

  ~HttpRun() {
    // The coroutine frames still suspended are destroyed with the io_context, while the maps
    // they unregister from exist.
    work.reset();
    ioc.reset();
  }

  // Keeps a connection in `streams` while it lives.
  struct Registration {
    HttpRun* run;
    std::uint64_t id;
    Registration(HttpRun* r, const std::shared_ptr<Conn>& s) : run(r), id(++r->next_stream) {
      r->streams.emplace(id, s);
    }
    ~Registration() { run->streams.erase(id); }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
  };

  bool finished() const { return delivered; }
  std::string session_id() const {
    std::lock_guard lk(mu);
    return session;
  }

  void deliver_message(std::string text) {
    if (!delivered) cb.message(std::move(text));
  }
  void deliver_failed(const bj::value& id, Kind kind, const std::string& why) {
    if (!delivered) cb.request_failed(id, std::make_exception_ptr(ClientError(kind, why)));
  }
  void deliver_closed(const std::string& why) {
    if (delivered) return;
    delivered = true;
    {
      std::lock_guard lk(mu);
      closed_reason = why;
    }
    for (auto& [id, w] : streams)
      if (auto s = w.lock()) s->close();
    for (auto& i : idle) i.conn->close();
    idle.clear();
    cb.closed(why);
  }
  void cancel(const std::string& key) {
    auto it = request_stream.find(key);
    if (it == request_stream.end()) return;
    cancelled.insert(key);
    if (auto st = streams.find(it->second); st != streams.end())
      if (auto s = st->second.lock()) s->close();
  }

  void arm(beast::tcp_stream& s, milliseconds timeout) {
    if (timeout.count() > 0)
      s.expires_after(timeout);
    else
      s.expires_never();
  }
  void arm(Conn& c, milliseconds timeout) { arm(c.tcp(), timeout); }
  std::unique_ptr<Exchange> new_exchange() {
    return std::make_unique<Exchange>(*ioc, tls_ctx ? &*tls_ctx : nullptr);
  }
  // An exchange on the newest idle connection still usable (the others that are not are
  // closed), else on a new connection.
  std::unique_ptr<Exchange> take_exchange() {
    const auto now = std::chrono::steady_clock::now();
    while (!idle.empty()) {
      Idle i = std::move(idle.back());
      idle.pop_back();
      if (now < i.until && i.conn->idle_usable())
        return std::make_unique<Exchange>(std::move(i.conn), true);
      i.conn->close();
    }
    return new_exchange();
  }
  // After an answer read to its end: its connection waits for the next POST, unless the
  // server ends it (Connection: close, HTTP/1.0, a body that ends with the connection) or sent
  // more than the answer.
  void keep(Exchange& x) {
    if (finished() || !x.p.is_done() || !x.p.keep_alive() || x.buf.size() != 0 ||
        !x.s->tcp().socket().is_open())
      return;
    milliseconds lifetime = kIdleLifetime;
    const std::string ka = lower(x.header("Keep-Alive"));
    if (auto at = ka.find("timeout="); at != std::string::npos)
      lifetime = std::min(
          lifetime, milliseconds(std::strtol(ka.c_str() + at + 8, nullptr, 10) * 1000 - 1000));
    if (lifetime.count() <= 0) return;
    if (idle.size() >= kMaxIdleConnections) {
      idle.front().conn->close();
      idle.erase(idle.begin());
    }
    x.s->tcp().expires_never();
    idle.push_back({x.s, std::chrono::steady_clock::now() + lifetime});
  }

  http::request<http::string_body> make_request(http::verb verb, const std::string& version) {
    http::request<http::string_body> req{verb, url.target, 11};
    for (const auto& [k, v] : opt.headers) req.set(k, v);
    if (opt.authorizer) set_authorization(req);
    req.set(http::field::host, url.host_header);
    req.set(http::field::user_agent, "refcache-mcp-client");
    if (!version.empty()) req.set("MCP-Protocol-Version", version);
    return req;
  }

  void set_authorization(http::request<http::string_body>& req) const {
    if (std::string a = opt.authorizer->authorization(); !a.empty())
      req.set(http::field::authorization, a);
    else
      req.erase(http::field::authorization);
  }

  // The authorizer's flow for a refusal (401, 403) runs on a thread of its own, since it may
  // wait for a person or for other servers, while this I/O thread serves the other streams.
  struct AuthOutcome {
    std::atomic<bool> done{false};
    bool retry = false;        // new credentials: send again
    std::exception_ptr error;  // the flow's failure
  };
  std::shared_ptr<AuthOutcome> start_authorization(const AuthChallenge& ch) const {
    auto out = std::make_shared<AuthOutcome>();
    std::thread([a = opt.authorizer, ch, out] {
      try {
        out->retry = a->authorize(ch);
      } catch (const ClientError&) {
        out->error = std::current_exception();
      } catch (const std::exception& e) {
        out->error = std::make_exception_ptr(
            ClientError(Kind::kAuthorization, std::string("authorization failed: ") + e.what()));
      }
      out->done.store(true, std::memory_order_release);
    }).detach();
    return out;
  }
  // Waits for the flow (polling every 20 ms); false when the transport closed meanwhile.
  awaitable<bool> authorization_done(std::shared_ptr<AuthOutcome> out) {
    while (!out->done.load(std::memory_order_acquire) && !finished())
      co_await wait(milliseconds(20));
    co_return out->done.load(std::memory_order_acquire);
  }

  awaitable<beast::error_code> connect(beast::tcp_stream& s) {
    tcp::resolver resolver(*ioc);
    auto [rec, results] = co_await resolver.async_resolve(url.host, url.port, tok);
    if (rec) co_return rec;
    arm(s, opt.connect_timeout);
    auto [cec, ep] = co_await s.async_connect(results, tok);
    co_return cec;
  }

  // Connects, writes `req` and reads the answer's head (within `head_timeout`; 0 = none).
  // A kept-alive connection skips straight to the write.
  awaitable<void> exchange(Exchange& x, http::request<http::string_body>& req,
                           milliseconds head_timeout) {
    x.stage = Exchange::Stage::kConnect;
    if (!x.reused) x.ec = co_await connect(x.s->tcp());
    if (x.ec) co_return;
    reached = true;
    if (auto* tls = x.reused ? nullptr : x.s->tls()) {
      // Certificate verification: the chain (verify_peer) and the URL's host name (SNI too).
      x.stage = Exchange::Stage::kHandshake;
      if (!SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str())) {
        x.ec =
            beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        co_return;
      }
      tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
      arm(*x.s, opt.connect_timeout);
      auto [tec] = co_await tls->async_handshake(asio::ssl::stream_base::client, tok);
      x.ec = tec;
      if (x.ec) co_return;
    }
    x.stage = Exchange::Stage::kWrite;
    arm(*x.s, opt.write_timeout);
    auto [wec, wn] = co_await http::async_write(*x.s, req, tok);
    x.written = wn;
    if (wec) {
      x.ec = wec;
      co_return;
    }
    x.stage = Exchange::Stage::kHead;
    arm(*x.s, head_timeout);
    auto [hec, hn] = co_await http::async_read_header(*x.s, x.buf, x.p, tok);
    x.ec = hec;
    if (!hec) x.stage = Exchange::Stage::kDone;
  }

  // Reads the body by chunks into `on_bytes` (false stops: the size cap) until its end.
  awaitable<beast::error_code> read_body(Exchange& x, milliseconds timeout,
                                         const std::function<bool(std::string_view)>& on_bytes) {
    std::vector<char> chunk(std::size_t{16} * 1024);
    while (!x.p.is_done()) {
      x.p.get().body().data = chunk.data();
      x.p.get().body().size = chunk.size();
      arm(*x.s, timeout);
      auto [ec, n] = co_await http::async_read_some(*x.s, x.buf, x.p, tok);
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = chunk.size() - x.p.get().body().size;
      if (got && !on_bytes(std::string_view(chunk.data(), got))) co_return http::error::body_limit;
      if (ec) co_return ec;
    }
    co_return beast::error_code{};
  }

  // Reads a whole body of up to `cap` bytes.
  awaitable<beast::error_code> read_all(Exchange& x, milliseconds timeout, std::size_t cap,
                                        std::string& out) {
    co_return co_await read_body(x, timeout, [&](std::string_view b) {
      if (out.size() + b.size() > cap) return false;
      out.append(b);
      return true;
    });
  }

  // After a connection broke: a server that refuses connections now is gone.
  awaitable<void> probe_alive() {
    if (finished()) co_return;
    beast::tcp_stream s(*ioc);
    auto ec = co_await connect(s);
    if (ec == asio::error::connection_refused)
      deliver_closed("the server at " + url.text + " went away: " + ec.message());
  }

  awaitable<void> wait(milliseconds d) {
    asio::steady_timer t(*ioc);
    t.expires_after(d);
    co_await t.async_wait(tok);
  }

  milliseconds retry_delay(const detail::SseParser& sp) const {
    milliseconds d = sp.retry().value_or(opt.reconnect_delay);
    return std::min(d, opt.max_reconnect_delay);
  }

  awaitable<void> post(OutgoingMessage m);
  // `first`: the exchange of its first GET (the kept-alive connection that carried
  // notifications/initialized, so that the stream opens before later POSTs, as it would on a
  // new connection of its own); null for a new connection.
  awaitable<void> standalone(std::string version, std::unique_ptr<Exchange> first);
  awaitable<void> remove_session(std::string sid);
  awaitable<void> sse_stream();
};

awaitable<void> HttpRun::post(OutgoingMessage m) {
  const bool is_req = m.kind == OutgoingMessage::Kind::kRequest;
  const bool legacy = m.era == Era::kLegacy;
  const std::string key = is_req ? id_key(m.id) : std::string();
  const std::string what = what_of(m);
  auto x = take_exchange();
  auto reg = std::make_unique<Registration>(this, x->s);
  if (is_req) request_stream[key] = reg->id;
  struct Forget {
    HttpRun* run;
    const std::string& key;
    bool is_req;
    ~Forget() {
      if (!is_req) return;
      run->request_stream.erase(key);
      run->cancelled.erase(key);
    }
  } forget{this, key, is_req};

  auto fail = [&](Kind kind, const std::string& why) {
    if (finished()) return;
    if (!is_req) {
      detail::client_log().warn("mcp client: {} to {}: {}", what, url.text, why);
      return;
    }
    if (cancelled.count(key)) return;  // closed by us: the call has ended already
    deliver_failed(m.id, kind, why);
  };

  auto req = make_request(http::verb::post, m.protocol_version);
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json, text/event-stream");
  std::string sid;
  if (sse_mode) {
    req.target(post_target);  // the session is in the endpoint's query
  } else if (legacy) {
    sid = session_id();
    if (!sid.empty() && !(is_req && m.method == "initialize"))
      req.set("Mcp-Session-Id", sid);
    else
      sid.clear();
  } else if (!m.method.empty()) {
    req.set("Mcp-Method", m.method);
    std::string name = m.name;
    if (name.empty() && m.method.rfind("tasks/", 0) == 0) {
      // tasks/get, tasks/update, tasks/cancel: the server routes on the task id.
      boost::system::error_code ec;
      bj::value v = bj::parse(m.text, ec);
      if (!ec && v.is_object())
        if (const auto* p = v.get_object().if_contains("params"); p && p->is_object())
          if (const auto* t = p->as_object().if_contains("taskId"); t && t->is_string())
            name = std::string(t->get_string());
    }
    if (!name.empty() || m.method == "tools/call" || m.method == "prompts/get" ||
        m.method == "resources/read")
      req.set("Mcp-Name", header_value(name));
    for (const auto& [suffix, value] : m.param_headers)
      req.set("Mcp-Param-" + suffix, header_value(value));
  }
  if (!m.traceparent.empty()) {
    req.set("traceparent", m.traceparent);
    if (!m.tracestate.empty()) req.set("tracestate", m.tracestate);
  }
  req.body() = std::move(m.text);
  req.prepare_payload();

  // A connection that could not be made, or broke before a byte of the request was written,
  // is tried again with backoff (a server restarting on its port), up to
  // max_reconnect_attempts times; never once the request may have reached the server, nor
  // against a server never reached (a wrong URL fails at once). A kept-alive connection that
  // fails before a byte of the request was written is replaced by a new one at once.
  std::size_t attempts = 0;
  for (;;) {
    co_await exchange(*x, req, is_req && !sse_mode ? opt.read_timeout : opt.write_timeout);
    if (finished()) co_return;
    if (x->reused && x->ec && x->stage == Exchange::Stage::kWrite && x->written == 0 &&
        !(is_req && cancelled.count(key))) {
      x->s->close();
      x = new_exchange();
      streams[reg->id] = x->s;
      continue;
    }
    const bool unsent =
        (x->stage == Exchange::Stage::kConnect ||
         (x->stage == Exchange::Stage::kWrite && x->written == 0)) &&
        (x->ec == asio::error::connection_refused || x->ec == asio::error::connection_reset ||
         x->ec == asio::error::connection_aborted || x->ec == asio::error::broken_pipe);
    if (!x->ec || !unsent || sse_mode || !reached || attempts >= opt.max_reconnect_attempts ||
        (is_req && cancelled.count(key)))
      break;
    co_await wait(
        std::min(opt.reconnect_delay * (std::int64_t{1} << std::min<std::size_t>(attempts, 20)),
                 opt.max_reconnect_delay));
    ++attempts;
    if (finished() || (is_req && cancelled.count(key))) co_return;
    x = new_exchange();
    streams[reg->id] = x->s;
  }
  const std::string after =
      attempts == 0 ? std::string() : " (after " + std::to_string(attempts + 1) + " attempts)";
  // Refused (401, 403): new credentials from the authorizer, then the request again. A 401 may
  // be followed by a 403 insufficient_scope, hence a few rounds; the authorizer bounds its
  // step-ups itself.
  for (int round = 0; opt.authorizer && !x->ec && (x->status() == 401 || x->status() == 403);
       ++round) {
    std::shared_ptr<AuthOutcome> outcome;
    if (round < kMaxAuthRounds) {
      AuthChallenge challenge;
      challenge.status = x->status();
      challenge.www_authenticate = x->header("WWW-Authenticate");
      challenge.server_url = url.text;
      challenge.sent_authorization = std::string(req[http::field::authorization]);
      outcome = start_authorization(challenge);
      if (!co_await authorization_done(outcome) || finished()) co_return;
      if (const std::exception_ptr failure = outcome->error) {
        if (!is_req)
          detail::client_log().warn("mcp client: {} to {}: authorization failed", what, url.text);
        else if (!cancelled.count(key))
          cb.request_failed(m.id, failure);
        co_return;
      }
    }
    if (!outcome || !outcome->retry) {
      fail(Kind::kAuthorization, "the server at " + url.text + " refused " + what + " with HTTP " +
                                     std::to_string(x->status()) +
                                     (round > 0 ? " after authorization" : "") + ": " +
                                     x->header("WWW-Authenticate"));
      co_return;
    }
    x = take_exchange();
    reg = std::make_unique<Registration>(this, x->s);
    if (is_req) request_stream[key] = reg->id;
    set_authorization(req);
    co_await exchange(*x, req, is_req && !sse_mode ? opt.read_timeout : opt.write_timeout);
    if (finished()) co_return;
  }
  if (x->ec) {
    if (x->stage == Exchange::Stage::kConnect) {
      // A refused connection: the server is gone, and closed() fails every call, this one too.
      if (x->ec == asio::error::connection_refused)
        deliver_closed("the server at " + url.text + " went away: " + x->ec.message() + after);
      else
        fail(Kind::kTransportClosed,
             "cannot connect to " + url.text + ": " + x->ec.message() + after);
    } else if (x->stage == Exchange::Stage::kHandshake) {
      fail(Kind::kTransportClosed,
           "the TLS handshake with " + url.text + " failed: " + x->ec.message());
    } else if (x->ec == beast::error::timeout) {
      fail(Kind::kTimeout,
           "the server at " + url.text + " did not answer " + what + " within " +
               std::to_string((is_req && x->stage == Exchange::Stage::kHead ? opt.read_timeout
                                                                            : opt.write_timeout)
                                  .count()) +
               " ms");
    } else if (x->stage == Exchange::Stage::kHead && x->ec != http::error::end_of_stream &&
               x->ec != asio::error::eof && x->ec != asio::error::connection_reset &&
               x->ec != asio::error::operation_aborted) {
      fail(Kind::kMalformedAnswer, "the server at " + url.text + " did not answer " + what +
                                       " with HTTP: " + x->ec.message());
    } else {
      fail(Kind::kTransportClosed, "the server at " + url.text +
                                       " closed the connection before "
                                       "answering " +
                                       what + " (" + x->ec.message() + ")");
      if (!cancelled.count(key)) co_await probe_alive();
    }
    co_return;
  }

  const unsigned status = x->status();
  if (legacy && is_req && m.method == "initialize" && status / 100 == 2) {
    std::string given = x->header("Mcp-Session-Id");
    if (!given.empty()) {
      std::lock_guard lk(mu);
      session = std::move(given);
    }
  }
  if (status == 404 && !sid.empty()) {
    const std::string why = "the server ended the HTTP session " + sid + " (404 Not Found)";
    fail(Kind::kTransportClosed, why);
    deliver_closed(why);
    co_return;
  }
  if (sse_mode) {
    // Legacy HTTP+SSE: the answer comes on the stream; the POST only says whether it was taken.
    std::string body;
    if (!co_await read_all(*x, opt.write_timeout, kMaxErrorBody, body)) keep(*x);
    if (status / 100 == 2 || finished()) co_return;
    std::string why = "the server at " + url.text + " refused " + what + ": HTTP " +
                      std::to_string(status) + " " + std::string(x->p.get().reason());
    if (body.find_first_not_of(" \t\r\n") != std::string::npos) why += ": " + excerpt(body);
    if (status == 404) {
      deliver_closed("the server ended the SSE session (" + why + ")");
      co_return;
    }
    fail(Kind::kTransportClosed, why);
    co_return;
  }
  const milliseconds body_timeout = is_req ? opt.read_timeout : opt.write_timeout;
  if (status / 100 == 2 && x->is_sse()) {
    detail::SseParser sp(opt.max_message_bytes);
    bool answered = false;
    const std::function<void(detail::SseEvent&)> on_event = [&](detail::SseEvent& ev) {
      if ((!ev.type.empty() && ev.type != "message") || ev.data.empty()) return;
      if (is_req && !answered && answers(ev.data, key)) answered = true;
      deliver_message(std::move(ev.data));
    };
    auto feed = [&](std::string_view b) { return sp.feed(b, on_event); };
    beast::error_code ec = co_await read_body(*x, body_timeout, feed);
    if (!ec && !sp.failed() && !(is_req && cancelled.count(key))) keep(*x);
    std::size_t resumptions = 0;
    while (is_req && !answered && !finished() && !cancelled.count(key) && !sp.failed() &&
           ec != beast::error::timeout && legacy && !sid.empty() && !sp.last_event_id().empty() &&
           resumptions < opt.max_resumptions) {
      // The stream broke before its answer: resume it (GET with Last-Event-ID).
      ++resumptions;
      co_await wait(retry_delay(sp));
      if (finished() || cancelled.count(key)) break;
      auto y = new_exchange();
      Registration yreg(this, y->s);
      request_stream[key] = yreg.id;
      auto get = make_request(http::verb::get, std::string(req["MCP-Protocol-Version"]));
      get.set(http::field::accept, "text/event-stream");
      get.set("Mcp-Session-Id", sid);
      get.set("Last-Event-ID", sp.last_event_id());
      co_await exchange(*y, get, opt.write_timeout);
      if (finished()) co_return;
      if (y->ec || y->status() / 100 != 2 || !y->is_sse()) {
        ec = y->ec ? y->ec : beast::error_code(http::error::bad_status);
        if (!y->ec && y->status() == 404) {
          const std::string why = "the server ended the HTTP session " + sid + " (404 Not Found)";
          fail(Kind::kTransportClosed, why);
          deliver_closed(why);
          co_return;
        }
        break;
      }
      sp.reset_partial();
      ec = co_await read_body(*y, body_timeout, feed);
    }
    if (!is_req || answered || finished()) co_return;
    if (sp.failed()) {
      fail(Kind::kMalformedAnswer, sp.error() + " (in the answer to " + what + ")");
      co_return;
    }
    if (ec == beast::error::timeout) {
      fail(Kind::kTimeout, "the server at " + url.text + " sent nothing on the answer to " + what +
                               " for " + std::to_string(opt.read_timeout.count()) + " ms");
      co_return;
    }
    fail(Kind::kTransportClosed,
         "the server at " + url.text + " ended the answer to " + what + " before answering it" +
             (ec ? " (" + ec.message() + ")" : std::string()) +
             (resumptions ? "; resumed " + std::to_string(resumptions) + " times" : ""));
    if (!cancelled.count(key)) co_await probe_alive();
    co_return;
  }

  std::string body;
  const std::size_t cap = status / 100 == 2 ? opt.max_message_bytes : kMaxErrorBody;
  beast::error_code ec = co_await read_all(*x, body_timeout, cap, body);
  if (finished()) co_return;
  if (!ec && !(is_req && cancelled.count(key))) keep(*x);
  if (ec == http::error::body_limit && status / 100 == 2) {
    fail(Kind::kMalformedAnswer, "the server's answer to " + what + " is larger than " +
                                     std::to_string(opt.max_message_bytes) + " bytes");
    co_return;
  }
  if (ec && ec != http::error::body_limit) {
    fail(ec == beast::error::timeout ? Kind::kTimeout : Kind::kTransportClosed,
         "the server at " + url.text + " broke off its answer to " + what + " (" + ec.message() +
             ")");
    co_return;
  }
  const bool blank = body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (status / 100 == 2) {
    if (blank) {
      if (is_req)
        fail(Kind::kMalformedAnswer, "the server answered " + what + " with HTTP " +
                                         std::to_string(status) + " and no body");
      else if (legacy && m.method == "notifications/initialized" && opt.standalone_stream &&
               !standalone_started && !session_id().empty()) {
        standalone_started = true;
        asio::co_spawn(*ioc, standalone(std::string(req["MCP-Protocol-Version"]), take_exchange()),
                       [](const std::exception_ptr&) {});
      }
      co_return;
    }
    if (lower(x->header("Content-Type")).find("application/json") == std::string::npos) {
      fail(Kind::kMalformedAnswer, "the server answered " + what + " with Content-Type '" +
                                       x->header("Content-Type") + "', neither JSON nor SSE");
      co_return;
    }
    const bool ok = !is_req || answers(body, key);
    deliver_message(std::move(body));
    if (!ok)
      fail(Kind::kMalformedAnswer,
           "the server's JSON answer to " + what + " is not a JSON-RPC response to it");
    co_return;
  }
  // An error status: the server's JSON-RPC error when it sent one, else the status itself.
  if (is_req && answers(body, key)) {
    deliver_message(std::move(body));
    co_return;
  }
  if (is_req)
    if (auto err = unattributed_error(body)) {
      // A JSON-RPC error the server could not attribute (no id): the server's own refusal.
      if (!finished() && !cancelled.count(key))
        cb.request_failed(
            m.id, std::make_exception_ptr(
                      Error(err->code, err->message + " (HTTP " + std::to_string(status) + ")",
                            std::move(err->data))));
      co_return;
    }
  std::string why = "the server at " + url.text + " answered " + what + " with HTTP " +
                    std::to_string(status) + " " + std::string(x->p.get().reason());
  if (!blank) why += ": " + excerpt(body);
  fail(Kind::kMalformedAnswer, why);
}

awaitable<void> HttpRun::standalone(std::string version, std::unique_ptr<Exchange> first) {
  detail::SseParser sp(opt.max_message_bytes);
  const std::function<void(detail::SseEvent&)> on_event = [&](detail::SseEvent& ev) {
    if ((!ev.type.empty() && ev.type != "message") || ev.data.empty()) return;
    deliver_message(std::move(ev.data));
  };
  for (int failures = 0; !finished();) {
    const std::string sid = session_id();
    auto x = first ? std::move(first) : new_exchange();
    Registration reg(this, x->s);
    auto req = make_request(http::verb::get, version);
    req.set(http::field::accept, "text/event-stream");
    req.set("Mcp-Session-Id", sid);
    if (!sp.last_event_id().empty()) req.set("Last-Event-ID", sp.last_event_id());
    co_await exchange(*x, req, opt.write_timeout);
    if (finished()) co_return;
    if (x->reused && x->ec && x->stage == Exchange::Stage::kWrite && x->written == 0)
      continue;  // a kept-alive connection that failed unused: a new one at once
    if (x->ec) {
      if ((x->stage == Exchange::Stage::kConnect && x->ec == asio::error::connection_refused) ||
          ++failures >= kMaxStandaloneFailures) {
        deliver_closed("the server at " + url.text + " went away: " + x->ec.message());
        co_return;
      }
      // Backoff: the delay doubles with each failed attempt in a row.
      co_await wait(std::min(retry_delay(sp) * (1 << failures), opt.max_reconnect_delay));
      continue;
    }
    const unsigned status = x->status();
    if (status == 405) {
      detail::client_log().debug("mcp client: {} offers no standalone stream (405)", url.text);
      co_return;
    }
    if (status == 404) {
      deliver_closed("the server ended the HTTP session " + sid + " (404 Not Found)");
      co_return;
    }
    if (status / 100 != 2 || !x->is_sse()) {
      detail::client_log().warn("mcp client: {} refused the standalone stream: HTTP {}", url.text,
                                status);
      co_return;
    }
    failures = 0;
    sp.reset_partial();
    co_await read_body(*x, opt.read_timeout,
                       [&](std::string_view b) { return sp.feed(b, on_event); });
    if (finished()) co_return;
    if (sp.failed()) {
      detail::client_log().warn("mcp client: {}: {} (standalone stream)", url.text, sp.error());
      sp = detail::SseParser(opt.max_message_bytes);
    }
    co_await wait(retry_delay(sp));
  }
}

awaitable<void> HttpRun::sse_stream() {
  auto x = new_exchange();
  auto reg = std::make_unique<Registration>(this, x->s);
  // Before the endpoint, start() waits: a failure is its exception, not closed().
  auto end = [&](const std::string& why) {
    if (ready) {
      ready->set_value(why);
      ready.reset();
    } else {
      deliver_closed(why);
    }
  };
  auto req = make_request(http::verb::get, "");
  req.set(http::field::accept, "text/event-stream");
  co_await exchange(*x, req, opt.connect_timeout);
  if (finished()) co_return;
  for (int round = 0; opt.authorizer && !x->ec && (x->status() == 401 || x->status() == 403) &&
                      round < kMaxAuthRounds;
       ++round) {
    // Refused: authorize (start() waits for it), then open the stream again.
    AuthChallenge challenge;
    challenge.status = x->status();
    challenge.www_authenticate = x->header("WWW-Authenticate");
    challenge.server_url = url.text;
    challenge.sent_authorization = std::string(req[http::field::authorization]);
    sse_authorizing = true;
    auto outcome = start_authorization(challenge);
    const bool done = co_await authorization_done(outcome);
    sse_authorizing = false;
    if (!done || finished()) co_return;
    if (outcome->error) {
      try {
        std::rethrow_exception(outcome->error);
      } catch (const std::exception& e) {
        end(e.what());
      }
      co_return;
    }
    if (!outcome->retry) break;
    x = new_exchange();
    reg = std::make_unique<Registration>(this, x->s);
    set_authorization(req);
    co_await exchange(*x, req, opt.connect_timeout);
    if (finished()) co_return;
  }
  if (x->ec) {
    end("cannot open the SSE stream at " + url.text + ": " + x->ec.message());
    co_return;
  }
  if (x->status() / 100 != 2 || !x->is_sse()) {
    std::string body;
    co_await read_all(*x, opt.write_timeout, kMaxErrorBody, body);
    end("the server at " + url.text + " answered the SSE request with HTTP " +
        std::to_string(x->status()) + " " + std::string(x->p.get().reason()) +
        (x->status() / 100 == 2 ? " and Content-Type '" + x->header("Content-Type") + "'"
                                : std::string()));
    co_return;
  }
  detail::SseParser sp(opt.max_message_bytes);
  bool refused = false;
  const std::function<void(detail::SseEvent&)> on_event = [&](detail::SseEvent& ev) {
    if (refused) return;
    if (ev.type == "endpoint") {
      if (!ready) return;  // one endpoint per stream
      auto target = endpoint_target(url, ev.data);
      if (!target) {
        refused = true;
        end("the server at " + url.text + " named an endpoint on another origin: " + ev.data);
        x->s->close();
        return;
      }
      post_target = *target;
      {
        std::lock_guard lk(mu);
        session = query_param(post_target, "sessionId");
      }
      ready->set_value("");
      ready.reset();
      return;
    }
    if ((!ev.type.empty() && ev.type != "message") || ev.data.empty() || ready) return;
    deliver_message(std::move(ev.data));
  };
  beast::error_code ec = co_await read_body(
      *x, milliseconds(0), [&](std::string_view b) { return sp.feed(b, on_event); });
  if (finished() || refused) co_return;
  if (sp.failed()) {
    end(sp.error() + " (the SSE stream at " + url.text + ")");
    co_return;
  }
  if (!ready) {
    // A server that died closes its connections and its listening socket in no set order.
    co_await wait(milliseconds(50));
    if (finished()) co_return;
    beast::tcp_stream probe(*ioc);
    auto pec = co_await connect(probe);
    if (finished()) co_return;
    if (pec == asio::error::connection_refused) {
      end("the server at " + url.text + " went away: " + pec.message());
      co_return;
    }
  }
  end("the server closed the SSE stream at " + url.text +
      (ec ? " (" + ec.message() + ")" : std::string()));
}

awaitable<void> HttpRun::remove_session(std::string sid) {
  auto x = new_exchange();
  Registration reg(this, x->s);
  auto req = make_request(http::verb::delete_, "");
  req.set("Mcp-Session-Id", sid);
  co_await exchange(*x, req, opt.write_timeout);
  if (x->ec)
    detail::client_log().debug("mcp client: DELETE of session {} at {}: {}", sid, url.text,
                               x->ec.message());
}

// What both HTTP transports share: the options and the current run.
struct HttpCore {
  StreamableHttpClientOptions opt;
  bool sse = false;  // the legacy HTTP+SSE transport
  mutable std::mutex mu;
  std::shared_ptr<HttpRun> run;

  std::shared_ptr<HttpRun> current() const {
    std::lock_guard lk(mu);
    return run;
  }
  void shutdown(HttpRun& r) const;
  void start(ClientTransportCallbacks callbacks);
  void send(OutgoingMessage message);
};

void HttpCore::shutdown(HttpRun& r) const {
  if (!r.io.joinable()) return;
  bool gone;
  {
    std::lock_guard lk(r.mu);
    gone = !r.closed_reason.empty();
    if (!gone) r.closed_reason = "closed by the client";
  }
  const std::string sid = r.session_id();
  if (!gone && !sid.empty() && !sse) {
    // End the session, bounded: the server may be gone.
    std::promise<void> done;
    auto fut = done.get_future();
    asio::co_spawn(*r.ioc, r.remove_session(sid),
                   [&done](const std::exception_ptr&) { done.set_value(); });
    fut.wait_for(opt.connect_timeout + opt.write_timeout * 2);
  }
  asio::post(*r.ioc, [&r] {
    r.deliver_closed("closed by the client");
    r.ioc->stop();
  });
  r.io.join();
}

void HttpCore::start(ClientTransportCallbacks callbacks) {
  if (auto previous = current()) shutdown(*previous);
  auto r = std::make_shared<HttpRun>();
  r->opt = opt;
  r->url = parse_url(opt.url);
  if (r->url.tls) {
    r->tls_ctx.emplace(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    r->tls_ctx->set_default_verify_paths(ec);
    if (!opt.ca_file.empty()) {
      r->tls_ctx->load_verify_file(opt.ca_file, ec);
      if (ec)
        throw ClientError(Kind::kTransportClosed, "HTTP transport: cannot read the CA file '" +
                                                      opt.ca_file + "': " + ec.message());
    }
    r->tls_ctx->set_verify_mode(asio::ssl::verify_peer);
  }
  r->cb = std::move(callbacks);
  r->sse_mode = sse;
  r->work.emplace(r->ioc->get_executor());
  std::future<std::string> endpoint;
  if (sse) {
    r->ready.emplace();
    endpoint = r->ready->get_future();
    asio::co_spawn(*r->ioc, r->sse_stream(), [](const std::exception_ptr&) {});
  }
  r->io = std::thread([p = r.get()] {
    for (;;) {
      try {
        p->ioc->run();
        return;
      } catch (const std::exception& e) {
        detail::client_log().error("mcp client: HTTP transport: {}", e.what());
      }
    }
  });
  if (sse) {
    const auto wait = opt.connect_timeout + opt.write_timeout;
    std::string why;
    auto status = endpoint.wait_for(wait);
    while (status != std::future_status::ready && r->sse_authorizing)
      status = endpoint.wait_for(wait);  // an authorization may wait for a person
    if (status != std::future_status::ready)
      why = "the server at " + opt.url + " sent no endpoint event within " +
            std::to_string(wait.count()) + " ms";
    else
      why = endpoint.get();
    if (!why.empty()) {
      // No callback has run: stop without closed(), as the contract wants of a failed start().
      {
        std::lock_guard lk(r->mu);
        r->closed_reason = why;
      }
      asio::post(*r->ioc, [p = r.get()] {
        p->delivered = true;
        p->ioc->stop();
      });
      r->io.join();
      throw ClientError(Kind::kTransportClosed, why);
    }
  }
  std::lock_guard lk(mu);
  run = std::move(r);
}

void HttpCore::send(OutgoingMessage message) {
  auto r = current();
  if (!r) throw ClientError(Kind::kNotConnected, "HTTP transport not started");
  {
    std::lock_guard lk(r->mu);
    if (!r->closed_reason.empty()) throw ClientError(Kind::kTransportClosed, r->closed_reason);
  }
  if (message.kind == OutgoingMessage::Kind::kNotification && message.cancels &&
      message.era == Era::kModern && !sse) {
    // 2026-07-28: closing the request's response stream cancels it. The handler holds no
    // reference to the run (it would keep its own io_context alive); the I/O thread, the only
    // one that runs it, ends before the run does.
    asio::post(*r->ioc, [p = r.get(), key = id_key(*message.cancels)] { p->cancel(key); });
    return;
  }
  asio::co_spawn(*r->ioc, r->post(std::move(message)), [](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      detail::client_log().error("mcp client: HTTP transport: {}", ex.what());
    }
  });
}

struct StreamableHttpClientTransport::Impl : HttpCore {};

StreamableHttpClientTransport::StreamableHttpClientTransport(StreamableHttpClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
}

StreamableHttpClientTransport::~StreamableHttpClientTransport() {
  close();
}

void StreamableHttpClientTransport::start(ClientTransportCallbacks callbacks) {
  impl_->start(std::move(callbacks));
}

void StreamableHttpClientTransport::send(OutgoingMessage message) {
  impl_->send(std::move(message));
}

void StreamableHttpClientTransport::close() {
  if (auto r = impl_->current()) impl_->shutdown(*r);
}

std::string StreamableHttpClientTransport::session_id() const {
  auto r = impl_->current();
  return r ? r->session_id() : std::string();
}

std::string StreamableHttpClientTransport::describe() const {
  return impl_->opt.url;
}

struct LegacySseClientTransport::Impl : HttpCore {};

LegacySseClientTransport::LegacySseClientTransport(LegacySseClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->sse = true;
  impl_->opt.url = std::move(options.url);
  impl_->opt.headers = std::move(options.headers);
  impl_->opt.connect_timeout = options.connect_timeout;
  impl_->opt.write_timeout = options.write_timeout;
  impl_->opt.max_message_bytes = options.max_message_bytes;
  impl_->opt.ca_file = std::move(options.ca_file);
  impl_->opt.standalone_stream = false;
  impl_->opt.max_resumptions = 0;
  impl_->opt.authorizer = std::move(options.authorizer);
}

LegacySseClientTransport::~LegacySseClientTransport() {
  close();
}

void LegacySseClientTransport::start(ClientTransportCallbacks callbacks) {
  impl_->start(std::move(callbacks));
}

void LegacySseClientTransport::send(OutgoingMessage message) {
  impl_->send(std::move(message));
}

void LegacySseClientTransport::close() {
  if (auto r = impl_->current()) impl_->shutdown(*r);
}

std::string LegacySseClientTransport::session_id() const {
  auto r = impl_->current();
  return r ? r->session_id() : std::string();
}

std::string LegacySseClientTransport::describe() const {
  return "legacy SSE: " + impl_->opt.url;
}

}  // namespace mcp
