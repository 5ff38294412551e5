// Internal: the connections of the HTTP transport.
//
//   - The accept loop takes connections while fewer than HttpOptions::max_connections are open
//     (SSE streams included); beyond, a connection is answered 503 and closed (at most 64 such
//     answers in progress; beyond, closed at once). When accepting fails because descriptors
//     ran out (EMFILE/ENFILE), it pauses 50 ms, doubling up to 1 s, with one log line per
//     10 s, instead of retrying at once: the pending connection stays in the listen queue and
//     the acceptor stays readable, so retrying would spin a core.
//   - Each connection is a coroutine on a strand of its own that reads requests one after
//     another and hands each to the request handler. A request's header must arrive within
//     header_timeout (from the connection's start for the first request, from its first byte
//     for later ones: slowloris clients are disconnected); a kept-alive connection may idle
//     idle_connection_timeout between requests, which also bounds a body. A body over
//     max_body_bytes is answered 413 with a lingering close (the client reads the answer, not
//     a reset).
//   - The table of open connections lets stop() close them all.
//
// Thread-safety: accept_loop() and the connections run on the io_context's threads;
// close_all() and open_count() may be called from any thread.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "http_checks.hpp"
#include "mcp/http.hpp"
#include "mcp/metrics.hpp"
#include "thread_annotations.hpp"

namespace mcp::detail {

// What serves the requests the connections read (HttpServer's router).
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Serves one request of a connection from `peer` (its IP address as handlers see it);
  // returns whether the connection stays open.
  virtual boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream, HttpRequest& req,
                                             const std::string& peer) = 0;
};

class HttpConnections {
 public:
  // `handler` must outlive the connections.
  HttpConnections(boost::asio::io_context& ioc, boost::asio::ip::tcp::acceptor& acceptor,
                  const HttpOptions& options, TransportMetrics& metrics, RequestHandler& handler);

  // Accepts connections until the acceptor is closed.
  boost::asio::awaitable<void> accept_loop();
  // Shuts every open connection down, each on its own strand.
  void close_all();
  // Connections registered in the table now.
  std::size_t open_count() const;

 private:
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket, std::string peer);
  // The answer to a connection beyond max_connections: a 503 and a lingering close.
  boost::asio::awaitable<void> refuse(boost::asio::ip::tcp::socket socket);
  // The answer to a body over max_body_bytes: a 413 and a lingering close.
  boost::asio::awaitable<void> refuse_large_body(boost::beast::tcp_stream& stream,
                                                 unsigned version);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor& acceptor_;
  const HttpOptions& opt_;
  TransportMetrics& metrics_;
  RequestHandler& handler_;

  mutable refcache_sync::Mutex mu_;
  std::unordered_map<std::uint64_t, boost::beast::tcp_stream*> open_ GUARDED_BY(mu_);
  std::uint64_t next_id_ GUARDED_BY(mu_) = 0;
  // Connections accepted and not yet ended, counted by the accept loop itself (a connection
  // registers in open_ later, on its own strand), so that max_connections holds exactly.
  std::atomic<std::size_t> live_{0};
  std::atomic<int> refusing_{0};  // refuse() coroutines running
};

// The address as handlers and logs see it: IPv4-mapped IPv6 peers as IPv4.
std::string peer_text(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace mcp::detail
