// One connection of the client's HTTP transports, plain or TLS, as one stream type for Beast's
// HTTP functions, and one HTTP exchange on it (the connection, its read buffer and the parser
// of the answer).
//
// Thread-safety: none; a connection and its exchange belong to the I/O thread that runs them.
#pragma once

#include <errno.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "client_http_url.hpp"

namespace mcp::http_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// Largest response head (status line and headers).
constexpr std::uint32_t kMaxHead = 64 * 1024;

// Timeouts are the TCP layer's (beast::tcp_stream), which the TLS layer's operations go through.
class Conn {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  Conn(asio::io_context& ioc, asio::ssl::context* tls) {
    if (tls)
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *tls);
    else
      plain_ = std::make_unique<beast::tcp_stream>(ioc);
  }
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
  beast::ssl_stream<beast::tcp_stream>* tls() { return tls_.get(); }
  executor_type get_executor() { return tcp().get_executor(); }
  void close() { tcp().close(); }
  // Whether an idle kept-alive connection may carry a request: open, with nothing to read (the
  // server's FIN, a TLS close_notify or stray bytes all mean that it may not).
  bool idle_usable() {
    auto& sock = tcp().socket();
    if (!sock.is_open()) return false;
    char b = 0;
    const ssize_t n = ::recv(sock.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(handler));
          else
            plain_->async_read_some(b, std::move(handler));
        },
        token, buffers);
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(handler));
          else
            plain_->async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

 private:
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
};

// One HTTP exchange: a connection, its read buffer and the parser of the answer.
struct Exchange {
  Exchange(asio::io_context& ioc, asio::ssl::context* tls)
      : Exchange(std::make_shared<Conn>(ioc, tls), false) {}
  Exchange(std::shared_ptr<Conn> conn, bool kept) : s(std::move(conn)), reused(kept) {
    p.body_limit(boost::none);  // the transport counts the bytes itself
    p.header_limit(kMaxHead);
  }
  enum class Stage { kConnect, kHandshake, kWrite, kHead, kDone };
  std::shared_ptr<Conn> s;
  bool reused = false;  // a kept-alive connection: connected (and TLS set up) already
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> p;
  Stage stage = Stage::kConnect;
  beast::error_code ec;
  std::size_t written = 0;  // bytes of the request written (kWrite and later)

  unsigned status() const { return p.get().result_int(); }
  std::string header(std::string_view name) const {
    auto it = p.get().find(name);
    return it == p.get().end() ? std::string() : std::string(it->value());
  }
  bool is_sse() const { return lower(header("Content-Type")).rfind("text/event-stream", 0) == 0; }
};

}  // namespace mcp::http_client
