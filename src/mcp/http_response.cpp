#include "http_response.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include "asio_coroutines.hpp"  // a GCC false positive off: see there

namespace mcp::detail {

namespace asio = boost::asio;
namespace http = boost::beast::http;

HttpResponse Responder::make(const HttpRequest& req, http::status status, std::string body,
                             std::string_view content_type) const {
  server_.transport_metrics().count_http_response(static_cast<int>(status));
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "mcp-cpp");
  if (!body.empty()) res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  add_cors(req, res);
  res.prepare_payload();
  return res;
}

HttpResponse Responder::error(const HttpRequest& req, http::status status,
                              const boost::json::value& id, int code,
                              std::string_view message) const {
  return make(req, status, Server::error_response(id, code, message));
}

HttpResponse Responder::method_not_allowed(const HttpRequest& req, const char* allow) const {
  HttpResponse r = error(req, http::status::method_not_allowed, nullptr,
                         error_code::kInvalidRequest, "Method not allowed");
  r.set(http::field::allow, allow);
  return r;
}

HttpResponse Responder::too_many_sessions(const HttpRequest& req, const boost::json::value& id,
                                          const char* why) const {
  HttpResponse r =
      error(req, http::status::service_unavailable, id, error_code::kInternalError, why);
  r.set(http::field::retry_after, "10");
  return r;
}

std::string Responder::sse_head(const HttpRequest& req, const HeaderFields& extra) const {
  server_.transport_metrics().count_http_response(200);
  std::string h =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "X-Accel-Buffering: no\r\nConnection: close\r\n";
  h += cors_header_lines(req);
  for (const auto& [k, v] : extra) {
    h += k;
    h += ": ";
    h += v;
    h += "\r\n";
  }
  h += "\r\n";
  return h;
}

asio::awaitable<bool> Responder::write(boost::beast::tcp_stream& stream, HttpResponse res) {
  const bool keep = res.keep_alive();
  auto [ec, n] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  (void)n;
  co_return !ec && keep;
}

asio::awaitable<bool> Responder::write_raw(boost::beast::tcp_stream& stream,
                                           const std::string& data) {
  auto [ec, n] = co_await asio::async_write(stream.socket(), asio::buffer(data),
                                            asio::as_tuple(asio::use_awaitable));
  (void)n;
  co_return !ec;
}

}  // namespace mcp::detail
