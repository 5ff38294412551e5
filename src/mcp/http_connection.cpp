#include "http_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <vector>

#include "asio_coroutines.hpp"  // a GCC false positive off: see there
#include "mcp/server.hpp"

namespace mcp::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using refcache_sync::Lock;
using std::chrono::milliseconds;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string peer_text(const tcp::endpoint& endpoint) {
  auto a = endpoint.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

namespace {

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors ||                         // EMFILE
         ec == boost::system::errc::too_many_files_open_in_system ||  // ENFILE
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

}  // namespace

HttpConnections::HttpConnections(asio::io_context& ioc, tcp::acceptor& acceptor,
                                 const HttpOptions& options, TransportMetrics& metrics,
                                 RequestHandler& handler)
    : ioc_(ioc), acceptor_(acceptor), opt_(options), metrics_(metrics), handler_(handler) {}

std::size_t HttpConnections::open_count() const {
  Lock lk(mu_);
  return open_.size();
}

void HttpConnections::close_all() {
  Lock lk(mu_);
  for (auto& [id, st] : open_) {
    asio::post(st->get_executor(), [this, cid = id] {
      Lock g(mu_);
      auto it = open_.find(cid);
      if (it == open_.end()) return;
      boost::system::error_code ec;
      it->second->socket().shutdown(tcp::socket::shutdown_both, ec);
      it->second->socket().close(ec);
    });
  }
}

awaitable<void> HttpConnections::accept_loop() {
  asio::steady_timer pause(ioc_);
  milliseconds backoff{0};
  std::chrono::steady_clock::time_point last_report{};
  std::uint64_t pauses = 0;
  for (;;) {
    auto strand = asio::make_strand(ioc_);
    auto [ec, socket] = co_await acceptor_.async_accept(strand, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (!out_of_descriptors(ec)) continue;  // e.g. the client gave up before we accepted
      backoff = std::min(milliseconds(1000), backoff.count() ? backoff * 2 : milliseconds(50));
      ++pauses;
      const auto now = std::chrono::steady_clock::now();
      if (now - last_report >= std::chrono::seconds(10)) {
        spdlog::warn(
            "mcp http: out of file descriptors accepting connections ({}; {} open, {} pauses "
            "so far): accepting pauses up to 1 s at a time until descriptors free",
            ec.message(), live_.load(), pauses);
        last_report = now;
      }
      pause.expires_after(backoff);
      auto [pec] = co_await pause.async_wait(kTuple);
      if (pec || !acceptor_.is_open()) co_return;
      continue;
    }
    backoff = milliseconds(0);
    if (live_.load() >= opt_.max_connections) {
      if (refusing_.fetch_add(1) < 64) {
        asio::co_spawn(strand, refuse(std::move(socket)), asio::detached);
      } else {
        refusing_.fetch_sub(1);
        boost::system::error_code ignored;
        socket.close(ignored);
      }
      continue;
    }
    boost::system::error_code pec;
    auto remote = socket.remote_endpoint(pec);
    if (pec) continue;  // already gone
    live_.fetch_add(1);
    asio::co_spawn(strand, serve(std::move(socket), peer_text(remote)), asio::detached);
  }
}

awaitable<void> HttpConnections::serve(tcp::socket socket, std::string peer) {
  struct Live {
    std::atomic<std::size_t>& n;
    ~Live() { n.fetch_sub(1); }
  } live{live_};
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  std::uint64_t conn_id;
  {
    Lock lk(mu_);
    conn_id = next_id_++;
    open_.emplace(conn_id, &stream);
  }
  struct Unregister {
    HttpConnections* self;
    std::uint64_t id;
    ~Unregister() {
      Lock lk(self->mu_);
      self->open_.erase(id);
    }
  } unregister{this, conn_id};
  stream.expires_after(opt_.header_timeout);
  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(opt_.max_body_bytes);
    parser.header_limit(64 * 1024);
    if (!first) {
      if (buffer.size() == 0) {
        stream.expires_after(opt_.idle_connection_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
        if (ec) break;
        buffer.commit(n);
      }
      stream.expires_after(opt_.header_timeout);
    }
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    (void)hn;
    if (hec == http::error::body_limit) {  // a Content-Length over the limit
      co_await refuse_large_body(stream, parser.get().version());
      break;
    }
    if (hec) break;
    stream.expires_after(opt_.idle_connection_timeout);  // the body
    if (!parser.is_done()) {
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      (void)n;
      if (ec == http::error::body_limit) {
        co_await refuse_large_body(stream, parser.get().version());
        break;
      }
      if (ec) break;
    }
    stream.expires_never();
    HttpRequest req = parser.release();
    bool keep = false;
    try {
      keep = co_await handler_.serve(stream, req, peer);
    } catch (const std::exception& e) {
      spdlog::warn("mcp http: request failed: {}", e.what());
      keep = false;
    }
    if (!keep) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.close();
}

awaitable<void> HttpConnections::refuse_large_body(beast::tcp_stream& stream, unsigned version) {
  metrics_.count_http_response(413);
  HttpResponse res{http::status::payload_too_large, version};
  res.set(http::field::content_type, "application/json");
  res.body() = Server::error_response(nullptr, error_code::kInvalidRequest, "Payload too large");
  res.keep_alive(false);
  res.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
  (void)wec;
  (void)wn;
  // Lingering close: stop sending, then drain (bounded) what the client is still uploading.
  boost::system::error_code sec;
  stream.socket().shutdown(tcp::socket::shutdown_send, sec);
  stream.expires_after(std::chrono::seconds(2));
  std::vector<char> scratch(std::size_t{64} * 1024);
  for (std::size_t drained = 0; drained < (64u << 20);) {
    auto [rec, got] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
    if (rec) break;
    drained += got;
  }
}

awaitable<void> HttpConnections::refuse(tcp::socket socket) {
  struct Count {
    std::atomic<int>& n;
    ~Count() { n.fetch_sub(1); }
  } count{refusing_};
  static const std::string kAnswer = [] {
    std::string body = Server::error_response(nullptr, error_code::kInternalError,
                                              "Server busy: too many connections");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  metrics_.count_http_response(503);
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(1));
  auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kAnswer), kTuple);
  (void)n;
  boost::system::error_code ignored;
  if (!ec) {
    // Lingering close, so that clients that read before they send see the answer.
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    char scratch[4096];
    for (int i = 0; i < 16; ++i) {
      auto [rec, got] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
      (void)got;
      if (rec) break;
    }
  }
  stream.close();
}

}  // namespace mcp::detail
