// HttpServer: owns the I/O threads, the acceptor and the parts of the transport, and routes
// each request: Host/Origin validation first (403), CORS preflight, /.well-known (the RFC 9728
// metadata when auth is on, else 404), then authentication (401/403) and the endpoint --
// Streamable HTTP (streamable_http.hpp), legacy SSE (legacy_sse.hpp), /metrics or one of the
// application's routes (HttpOptions::routes; authenticated only when the route asks for it).
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "asio_coroutines.hpp"  // a GCC false positive off: see there
#include "http_checks.hpp"
#include "http_connection.hpp"
#include "http_response.hpp"
#include "http_sessions.hpp"
#include "http_stream.hpp"
#include "jsonio/json_text.hpp"
#include "legacy_sse.hpp"
#include "mcp/http.hpp"
#include "streamable_http.hpp"
#include "thread_annotations.hpp"

namespace mcp {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
using asio::awaitable;
using detail::HttpRequest;
using detail::HttpResponse;
using detail::Responder;

struct HttpServer::Impl : detail::RequestHandler {
  Server& server;
  const HttpOptions opt;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;  // set by start() before any request is served

  detail::Responder responder{server};
  detail::HttpSessions sessions{server, opt};
  detail::StreamRegistry streams;
  detail::StreamableHttpHandler streamable{server, opt, sessions, streams, responder};
  detail::LegacySseHandler legacy_sse{server, opt, sessions, streams, responder};
  detail::HttpConnections connections{ioc, acceptor, opt, server.transport_metrics(), *this};
  // Renders /metrics: the application's metric sources may block (a backend's statistics may
  // query its store), so never on an I/O thread.
  asio::thread_pool scrape_pool{1};

  refcache_sync::Mutex mu;
  std::condition_variable stopped_cv;
  bool stopped GUARDED_BY(mu) = false;

  Impl(Server& s, HttpOptions o) : server(s), opt(std::move(o)) {}

  // Routes one request (RequestHandler: the connections call it).
  awaitable<bool> serve(beast::tcp_stream& stream, HttpRequest& req,
                        const std::string& peer) override {
    auto target = std::string_view(req.target().data(), req.target().size());
    const auto q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query =
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

    if (!detail::host_allowed(opt, req) || !detail::origin_allowed(opt, req)) {
      HttpResponse r =
          responder.error(req, http::status::forbidden, nullptr, error_code::kInvalidRequest,
                          "Forbidden: Host or Origin not allowed");
      r.keep_alive(false);  // nothing more to serve on it
      co_return co_await Responder::write(stream, std::move(r));
    }
    if (req.method() == http::verb::options) {
      HttpResponse r = responder.make(req, http::status::no_content, "");
      detail::fill_preflight(req, r);
      co_return co_await Responder::write(stream, std::move(r));
    }
    if (path.substr(0, 13) == "/.well-known/") co_return co_await well_known(stream, req, path);
    const bool is_mcp = path == opt.path;
    const bool is_sse = opt.legacy_sse && (path == opt.sse_path || path == opt.messages_path);
    const bool is_metrics = !opt.metrics_path.empty() && path == opt.metrics_path;
    const HttpRoute* route = nullptr;
    if (!is_mcp && !is_sse && !is_metrics)
      for (const auto& r : opt.routes)
        if (r.handler && path == r.path) route = &r;
    if (route != nullptr && !(route->authenticate && opt.auth))
      co_return co_await app_route(stream, req, *route, path, query, std::nullopt);
    if (!is_mcp && !is_sse && !is_metrics && route == nullptr)
      co_return co_await Responder::write(
          stream, responder.error(req, http::status::not_found, nullptr,
                                  error_code::kInvalidRequest, "Not found"));

    auto auth = detail::authenticate(opt, req, bound_port);
    if (auth.denied) {
      HttpResponse r =
          responder.error(req, auth.status, nullptr, error_code::kInvalidRequest, auth.message);
      r.set(http::field::www_authenticate, auth.www_authenticate);
      r.keep_alive(false);  // an unauthenticated connection does not stay open
      co_return co_await Responder::write(stream, std::move(r));
    }
    if (is_metrics) co_return co_await metrics(stream, req);
    if (route != nullptr)
      co_return co_await app_route(stream, req, *route, path, query, auth.principal);
    if (is_sse) co_return co_await legacy_sse.serve(stream, req, path, query, auth.principal, peer);
    co_return co_await streamable.serve(stream, req, auth.principal, peer);
  }

  // /.well-known/*: the protected-resource metadata (RFC 9728) at both
  // /.well-known/oauth-protected-resource and .../<path> when auth is on; a clean 404 for any
  // other probe.
  awaitable<bool> well_known(beast::tcp_stream& stream, HttpRequest& req, std::string_view path) {
    if (opt.auth && req.method() == http::verb::get &&
        (path == "/.well-known/oauth-protected-resource" ||
         path == "/.well-known/oauth-protected-resource" + opt.path)) {
      bj::object prm{{"resource", detail::resource_url(opt, req, bound_port)}};
      bj::array as, sc;
      for (auto& a : opt.auth->authorization_servers) as.emplace_back(a);
      for (auto& s : opt.auth->scopes_supported) sc.emplace_back(s);
      prm["authorization_servers"] = std::move(as);
      if (!sc.empty()) prm["scopes_supported"] = std::move(sc);
      prm["bearer_methods_supported"] = bj::array{"header"};
      co_return co_await Responder::write(
          stream, responder.make(req, http::status::ok, jsonio::to_string(prm)));
    }
    co_return co_await Responder::write(
        stream, responder.make(req, http::status::not_found, "{\"error\":\"not_found\"}"));
  }

  // GET metrics_path: Server::metrics_text(), rendered on the scrape thread.
  awaitable<bool> metrics(beast::tcp_stream& stream, HttpRequest& req) {
    if (req.method() != http::verb::get)
      co_return co_await Responder::write(stream, responder.method_not_allowed(req, "GET"));
    auto [ep, text] = co_await asio::co_spawn(
        scrape_pool, [this]() -> awaitable<std::string> { co_return server.metrics_text(); },
        asio::as_tuple(asio::use_awaitable));
    if (ep) {
      // The detail stays in the log: exception texts may name the server's source files.
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        spdlog::error("mcp http: rendering metrics failed: {}", e.what());
      } catch (...) {
        spdlog::error("mcp http: rendering metrics failed");
      }
      co_return co_await Responder::write(
          stream, responder.make(req, http::status::internal_server_error, "metrics unavailable\n",
                                 "text/plain; charset=utf-8"));
    }
    HttpResponse r = responder.make(req, http::status::ok, std::move(text), metrics::kContentType);
    r.set(http::field::cache_control, "no-store");
    co_return co_await Responder::write(stream, std::move(r));
  }

  // The handler of `route`. A coroutine function, not a lambda: its parameters live in its
  // frame, where a lambda's captures would die with the lambda before the frame runs.
  static awaitable<HttpRouteResponse> run_route(const HttpRoute* route, HttpRouteRequest rr) {
    co_return route->handler(rr);
  }

  // An application route (HttpOptions::routes), its handler run on the scrape thread.
  awaitable<bool> app_route(beast::tcp_stream& stream, HttpRequest& req, const HttpRoute& route,
                            std::string_view path, std::string_view query,
                            std::optional<Principal> principal) {
    HttpRouteRequest rr;
    rr.method = std::string(req.method_string());
    rr.path = std::string(path);
    rr.query = std::string(query);
    rr.principal = std::move(principal);
    auto [ep, out] = co_await asio::co_spawn(scrape_pool, run_route(&route, std::move(rr)),
                                             asio::as_tuple(asio::use_awaitable));
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        spdlog::error("mcp http: route {} failed: {}", route.path, e.what());
      } catch (...) {
        spdlog::error("mcp http: route {} failed", route.path);
      }
      out = HttpRouteResponse{
          .status = 500, .content_type = "text/plain; charset=utf-8", .body = "internal error\n"};
    }
    HttpResponse r = responder.make(req, static_cast<http::status>(out.status), std::move(out.body),
                                    out.content_type);
    r.set(http::field::cache_control, "no-store");
    r.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : out.headers) r.set(name, value);
    co_return co_await Responder::write(stream, std::move(r));
  }

  // Drops expired and never-used legacy sessions periodically (they are also dropped when
  // found expired, or when a table is full), so that abandoned clients and initialize floods
  // do not pin places until the caps are reached.
  awaitable<void> reap_loop() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
      t.expires_after(sessions.reap_period());
      auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      sessions.reap();
    }
  }
};

HttpServer::HttpServer(Server& server, HttpOptions options)
    : impl_(std::make_unique<Impl>(server, std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
  // Calls still running hold response streams whose timers belong to our io_context: wait for
  // them (stop() cancelled them), and if one will not finish, leak the I/O state rather than
  // free it under a running handler.
  if (!impl_->server.wait_idle(std::chrono::seconds(10))) {
    spdlog::error("mcp http: handlers still running 10 s after stop; leaking the I/O context");
    (void)impl_.release();
  }
}

void HttpServer::start() {
  auto& I = *impl_;
  for (const auto* list : {&I.opt.allowed_hosts, &I.opt.allowed_origins})
    for (const auto& a : *list)
      if (detail::trim(a) == "*")
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
  asio::co_spawn(I.ioc, I.connections.accept_loop(), asio::detached);
  asio::co_spawn(I.ioc, I.reap_loop(), asio::detached);
  for (std::size_t i = 0; i < std::max<std::size_t>(1, I.opt.io_threads); ++i)
    I.threads.emplace_back([&I] { I.ioc.run(); });
}

std::uint16_t HttpServer::port() const {
  return impl_->bound_port;
}

void HttpServer::wait() {
  auto& I = *impl_;
  refcache_sync::UniqueLock lk(I.mu);
  while (!I.stopped) I.stopped_cv.wait(lk.native());
}

void HttpServer::stop() {
  auto& I = *impl_;
  {
    refcache_sync::Lock lk(I.mu);
    if (I.stopped) return;
    I.stopped = true;
  }
  I.stopped_cv.notify_all();
  asio::post(I.ioc, [&I] {
    boost::system::error_code ec;
    I.acceptor.close(ec);
  });
  // End every connection (on its own strand) and every response stream (cancelling its
  // request), then give the coroutines a moment to unwind before stopping the loop.
  I.connections.close_all();
  I.streams.close_all();
  if (!I.threads.empty())
    for (int i = 0; i < 300 && I.connections.open_count() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  I.work.reset();
  I.ioc.stop();
  for (auto& t : I.threads)
    if (t.joinable()) t.join();
  I.threads.clear();
  I.sessions.clear();
  I.streamable.shutdown();
}

}  // namespace mcp
