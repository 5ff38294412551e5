#include "oauth_browser_step.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <memory>
#include <optional>
#include <stdexcept>

namespace gateway {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Redirect {
  asio::ip::address address;
  unsigned short port = 0;
  std::string path;
};

std::optional<Redirect> parse_redirect(const std::string& uri, std::string& why) {
  auto r = boost::urls::parse_uri(uri);
  if (!r) {
    why = "is not a URI";
    return std::nullopt;
  }
  const boost::urls::url_view u = *r;
  if (u.scheme() != "http") {
    why = "must be http:// (a loopback listener of the gateway)";
    return std::nullopt;
  }
  Redirect out;
  const std::string host = u.host();
  boost::system::error_code ec;
  if (host == "localhost")
    out.address = asio::ip::make_address("127.0.0.1");
  else
    out.address = asio::ip::make_address(u.host_address(), ec);
  if (ec || !out.address.is_loopback()) {
    why = "must name a loopback host (127.0.0.1, [::1] or localhost)";
    return std::nullopt;
  }
  if (!u.has_port() || u.port_number() == 0) {
    why = "must give a port";
    return std::nullopt;
  }
  out.port = u.port_number();
  out.path = u.path().empty() ? "/" : std::string(u.path());
  return out;
}

// One browser connection: reads its request, answers it, and reports the URL it asked for
// when its path is the redirect's.
class Visit : public std::enable_shared_from_this<Visit> {
 public:
  Visit(tcp::socket s, const Redirect& r, std::function<void(std::string)> done)
      : stream_(std::move(s)), redirect_(r), done_(std::move(done)) {}

  void start() {
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    const std::string target(request_.target());
    auto parsed = boost::urls::parse_origin_form(target);
    const bool ours = parsed && std::string(parsed->path()) == redirect_.path;
    std::string error;
    if (ours)
      for (const auto& p : parsed->params())
        if (p.key == "error") error = p.value;
    auto res = std::make_shared<http::response<http::string_body>>(
        ours ? http::status::ok : http::status::not_found, request_.version());
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    res->set(http::field::cache_control, "no-store");
    res->body() = !ours ? "Not found.\n"
                  : error.empty()
                      ? "refcache-gateway is authorized. You may close this window.\n"
                      : "The authorization failed (" + error + "). You may close this window.\n";
    res->prepare_payload();
    res->keep_alive(false);
    if (ours) done_(target);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  beast::tcp_stream stream_;
  Redirect redirect_;
  std::function<void(std::string)> done_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
};

}  // namespace

std::string redirect_uri_problem(const std::string& redirect_uri) {
  std::string why;
  return parse_redirect(redirect_uri, why) ? std::string() : why;
}

std::function<std::string(const std::string&)> browser_step(std::string upstream,
                                                            std::string redirect_uri,
                                                            std::chrono::seconds timeout) {
  return [upstream = std::move(upstream), redirect_uri = std::move(redirect_uri),
          timeout](const std::string& authorization_url) {
    std::string why;
    std::optional<Redirect> r = parse_redirect(redirect_uri, why);
    if (!r) throw std::runtime_error("the redirect URI " + redirect_uri + " " + why);
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc);
    beast::error_code ec;
    const tcp::endpoint at(r->address, r->port);
    acceptor.open(at.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(at, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("cannot listen for the browser at " + redirect_uri + ": " +
                               ec.message());
    std::string came_back;
    std::function<void()> accept = [&] {
      acceptor.async_accept([&](beast::error_code aec, tcp::socket s) {
        if (aec) return;
        std::make_shared<Visit>(std::move(s), *r, [&](std::string target) {
          if (!came_back.empty()) return;
          came_back = std::move(target);
          beast::error_code ignored;
          acceptor.close(ignored);
        })->start();
        if (came_back.empty()) accept();
      });
    };
    accept();
    spdlog::warn(
        "upstream '{}' needs authorization: open this URL in a browser on this machine "
        "(waiting {} s): {}",
        upstream, timeout.count(), authorization_url);
    ioc.run_for(timeout);
    if (came_back.empty())
      throw std::runtime_error("no browser came back to " + redirect_uri + " within " +
                               std::to_string(timeout.count()) + " s");
    // Scheme, host and port as registered; path and query as the browser sent them.
    auto base = boost::urls::parse_uri(redirect_uri);
    std::string origin =
        std::string(base->scheme()) + "://" + std::string(base->encoded_host_and_port());
    spdlog::info("upstream '{}': the browser came back; completing the authorization", upstream);
    return origin + came_back;
  };
}

std::string free_loopback_redirect_uri() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/callback";
}

}  // namespace gateway
