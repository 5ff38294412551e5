// Internal: HttpStream, the Outbound of one HTTP response -- the answer to one POST (JSON or,
// once something else must go first, an SSE stream), or a persistent SSE stream (the
// standalone GET stream of a Streamable HTTP session, or a legacy GET /sse stream) -- and the
// registry of live streams that HttpServer::stop() ends.
//
// Handlers on the worker pool call the Outbound methods from any thread; they queue messages
// under the stream's mutex and wake the coroutine that serves the response on the
// connection's strand, which takes them out in batches (take_*) and writes them. A resumable
// POST stream (legacy Streamable HTTP, 2025-11-25) numbers its events "<stream id>-<seq>" and
// keeps them until the response went out, so that a client that reconnects with Last-Event-ID
// misses nothing; a disconnect then does not cancel the request.
//
// Thread-safety: the Outbound methods, peer_closed(), connection_lost() and the take_*
// methods may be called from any thread (one mutex); wait_for_wake() runs on the strand of the
// connection that serves the stream, which is also where wake() lands.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mcp/session.hpp"
#include "thread_annotations.hpp"

namespace mcp::detail {

class HttpStream : public Outbound, public std::enable_shared_from_this<HttpStream> {
 public:
  enum class Kind {
    kPost,        // the answer to one POST
    kStandalone,  // GET on the Streamable HTTP endpoint: a session's notification stream
    kLegacySse,   // GET /sse: every message of a legacy SSE session ("event: message")
  };
  // `json_only`: the client accepts only application/json, so messages other than the
  // response cannot be delivered (send() refuses them).
  HttpStream(const boost::asio::any_io_executor& executor, Kind kind, bool json_only = false);

  Kind kind() const { return kind_; }

  // --- Outbound ------------------------------------------------------------------------------
  bool send(std::string text) override;
  // POST streams keep the response for first_answer()/take_post_events(); persistent streams
  // carry it as an ordinary event.
  void respond(std::string text, int status) override;
  void accepted() override;
  void abandon() override;
  bool is_open() const override;
  // POST streams only: persistent streams carry many requests, which are cancelled when their
  // session ends (Server::detach), so per-request callbacks would only pile up.
  void on_peer_closed(std::function<void()> fn) override;
  void close_stream() override;

  // --- the serving side ----------------------------------------------------------------------
  // The client went away (or the server stops): closes the stream and runs the callbacks of
  // on_peer_closed(), which cancel the request.
  void peer_closed();
  // The connection that carried generation `gen` of this stream went away. A resumable stream
  // keeps its events for a later GET with Last-Event-ID; any other is closed (peer_closed()).
  void connection_lost(std::uint64_t gen);

  // How a POST is answered, decided once something happened (see settled()).
  struct FirstAnswer {
    enum Kind {
      kGone,      // the client went away or the request was abandoned: nothing to write
      kAccepted,  // 202 (a notification or a client's response)
      kJson,      // `body` with `status`, as application/json
      kEvents,    // an SSE stream: messages went first, or more may come
    } kind = kEvents;
    std::string body{};
    int status = 200;
  };
  // Whether the first answer of a POST can be decided now. `resumable`: a close_stream()
  // request counts too (the client then resumes with GET).
  bool settled(bool resumable) const;
  // Decides the first answer (takes the response out of the stream for kJson).
  FirstAnswer first_answer(bool resumable);
  // Makes this POST stream resumable with a new stream id; appends the priming event
  // (SEP-1699: an id to resume from and the retry interval) to `out`; returns the generation
  // of the connection that carries it.
  std::uint64_t make_resumable(std::string& out);
  // A client resumed the stream (GET with Last-Event-ID): returns the new generation.
  std::uint64_t reattach();
  std::string stream_id() const;

  struct Batch {
    bool finished = false;  // the response went out (or the request ended): end the stream
    bool detach = false;    // resumable: stop writing here; the client resumes with GET
  };
  // Appends the pending events of a POST stream after sequence `after_seq` to `out` (and
  // advances it), for the connection of generation `gen`.
  Batch take_post_events(std::uint64_t& after_seq, std::uint64_t gen, std::string& out);
  // Appends the pending events of a persistent stream to `out`; false once it is closed.
  bool take_stream_events(std::string& out);

  // Wakes the coroutine serving this stream. The flag keeps a wake-up that arrives while the
  // coroutine is not waiting (e.g. in the middle of a write) for its next wait_for_wake(); a
  // bare timer cancel would be lost then, and the coroutine would sleep until its keep-alive,
  // holding the connection of a stream that was already closed, or delaying events.
  void wake();
  // Waits until wake() or `d` has passed; true when `d` passed. On the stream's strand.
  boost::asio::awaitable<bool> wait_for_wake(std::chrono::steady_clock::duration d);

 private:
  bool resumable() const;

  const Kind kind_;
  const bool json_only_;
  boost::asio::steady_timer timer_;  // strand only
  bool woken_ = false;               // strand only: see wake()

  mutable refcache_sync::Mutex mu_;
  std::deque<std::string> events_ GUARDED_BY(mu_);
  std::string final_ GUARDED_BY(mu_);
  int status_ GUARDED_BY(mu_) = 200;
  bool has_final_ GUARDED_BY(mu_) = false;
  bool accepted_ GUARDED_BY(mu_) = false;
  bool abandoned_ GUARDED_BY(mu_) = false;
  bool closed_ GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> close_cbs_ GUARDED_BY(mu_);
  // Resumable POST streams: every event is kept as (seq, text) until the response has been
  // delivered, so that a reconnecting client can replay what it missed.
  bool resumable_ GUARDED_BY(mu_) = false;
  bool close_requested_ GUARDED_BY(mu_) = false;
  bool attached_ GUARDED_BY(mu_) = true;  // a connection carries the stream
  bool final_recorded_ GUARDED_BY(mu_) = false;
  std::uint64_t generation_ GUARDED_BY(mu_) = 0;  // of the connection carrying the stream
  std::uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  std::string stream_id_ GUARDED_BY(mu_);
  std::deque<std::pair<std::uint64_t, std::string>> history_ GUARDED_BY(mu_);
};

// Watches the connection under `stream` for the peer closing its side (a one-byte peek that
// completes with end-of-file), and then tells `hs` (connection_lost(gen)). Cancelled by
// cancelling the socket's operations.
void watch_peer(boost::beast::tcp_stream& stream, const std::shared_ptr<HttpStream>& hs,
                std::uint64_t gen = 0);

// Serves a persistent SSE stream: writes `head` (the SSE head and first event), then every
// event as it comes, and a ": keepalive" comment after `keepalive` of silence, until the peer
// goes away or the stream is closed. Returns false (the connection ends with the stream).
boost::asio::awaitable<bool> serve_event_stream(boost::beast::tcp_stream& stream,
                                                std::shared_ptr<HttpStream> hs, std::string head,
                                                std::chrono::seconds keepalive);

// The response streams that are open, so that HttpServer::stop() can end them (and cancel the
// requests they carry) instead of leaving clients waiting.
// Thread-safety: internally synchronized.
class StreamRegistry {
 public:
  std::shared_ptr<HttpStream> open(const boost::asio::any_io_executor& executor,
                                   HttpStream::Kind kind, bool json_only = false);
  // Closes every stream open now (peer_closed()).
  void close_all();

 private:
  refcache_sync::Mutex mu_;
  std::vector<std::weak_ptr<HttpStream>> alive_ GUARDED_BY(mu_);
  std::size_t prune_at_ GUARDED_BY(mu_) = 64;  // alive_'s size at which ended streams go
};

}  // namespace mcp::detail
