// Internal: the legacy-era sessions of the HTTP transport -- Streamable HTTP sessions (created
// by initialize, named by Mcp-Session-Id, 2025-11-25 and older) and legacy SSE sessions (one
// per GET /sse stream) -- with their bounds:
//
//   - HttpOptions::max_sessions sessions of each transport;
//   - max_sessions_per_principal (authenticated) / max_sessions_per_peer (an IPv4 address or
//     an IPv6 /64) of one owner, both transports together, so that one user's initialize flood
//     cannot lock the others out;
//   - Streamable HTTP sessions expire after session_ttl without a request, and are dropped when
//     no request followed their initialize within session_init_timeout (reap(), also when a
//     table is full); a legacy SSE session lives as long as its stream;
//   - a session created by an authenticated principal answers that principal only.
//
// The table attaches new sessions to the Server and detaches the ones it drops (which cancels
// their calls and closes their standalone streams). It also keeps the resumable POST streams
// of each Streamable HTTP session, by stream id, for GET with Last-Event-ID.
//
// Thread-safety: internally synchronized by one mutex; Server::attach/detach and stream
// callbacks run outside it.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "http_stream.hpp"
#include "mcp/http.hpp"
#include "mcp/server.hpp"
#include "thread_annotations.hpp"

namespace mcp::detail {

// Whose share of the session caps a session counts against: "principal:<subject>" for an
// authenticated principal, else "peer:<address>", an IPv6 peer by its /64.
std::string owner_key(const std::optional<Principal>& principal, const std::string& peer);

class HttpSessions {
 public:
  HttpSessions(Server& server, const HttpOptions& options);

  // --- Streamable HTTP sessions --------------------------------------------------------------
  enum class Lookup {
    kFound,
    kMissing,  // unknown, expired or deleted
    kForeign,  // created by another principal
  };
  // The session `id` if `principal` may use it, counting this request as its use (which also
  // establishes it). A session of an authenticated principal answers that principal only
  // (kForeign; the session is not touched). An expired session is dropped here.
  std::shared_ptr<Session> find(const std::string& id, const std::optional<Principal>& principal,
                                Lookup* why = nullptr);

  struct Created {
    std::shared_ptr<Session> session{};
    const char* refusal = nullptr;  // why there is none ("Too many sessions", ...)
  };
  // A new session of `principal` (else of `peer`), attached to the server, within
  // max_sessions and the owner's cap; when either is full, sessions due for reaping make room
  // first.
  Created create(const std::optional<Principal>& principal, const std::string& peer);
  // Ends session `id` (DELETE): its calls are cancelled and its GET stream closes.
  void end(const std::string& id);

  // Resumable POST streams of session `sid` (at most 64 per session; the oldest goes).
  void add_stream(const std::string& sid, const std::shared_ptr<HttpStream>& hs);
  void remove_stream(const std::string& sid, const std::shared_ptr<HttpStream>& hs);
  std::shared_ptr<HttpStream> find_stream(const std::string& sid, const std::string& stream_id);

  // --- legacy SSE sessions -------------------------------------------------------------------
  // A new legacy SSE session whose messages go to `stream`, attached to the server, within
  // max_sessions and the owner's cap (no reaping: a stream holds its place while it is open).
  Created open_sse(const std::optional<Principal>& principal, const std::string& peer,
                   const std::shared_ptr<HttpStream>& stream);
  // Its stream ended: forgets and detaches the session.
  void close_sse(const std::shared_ptr<Session>& session);
  std::shared_ptr<Session> find_sse(const std::string& id);

  // --- upkeep --------------------------------------------------------------------------------
  // Drops the sessions idle longer than session_ttl and those that saw no request after their
  // initialize within session_init_timeout.
  void reap();
  // How often reap() should run: every 30 s, or half the init timeout (at least 100 ms).
  std::chrono::milliseconds reap_period() const;
  // Detaches and forgets every session (HttpServer::stop()).
  void clear();

 private:
  struct Entry {
    std::shared_ptr<Session> session;
    std::string owner;  // owner_key()
    std::chrono::steady_clock::time_point created, last_used;
    bool established = false;                                    // a request followed initialize
    std::map<std::string, std::shared_ptr<HttpStream>> streams;  // resumable, by stream id
  };
  struct SseEntry {
    std::shared_ptr<Session> session;
    std::string owner;
  };
  using Table = std::unordered_map<std::string, Entry>;

  std::shared_ptr<Session> take_locked(Table::iterator it) REQUIRES(mu_);
  void release_owner_locked(const std::string& owner) REQUIRES(mu_);
  std::size_t owned_locked(const std::string& owner) const REQUIRES(mu_);
  std::vector<std::shared_ptr<Session>> reap_locked(std::chrono::steady_clock::time_point now)
      REQUIRES(mu_);
  std::size_t owner_cap(bool by_principal) const;
  // Ends a session taken out of the table: detached from the server, standalone stream closed.
  void retire(const std::shared_ptr<Session>& s, bool expired) EXCLUDES(mu_);

  Server& server_;
  const HttpOptions& opt_;
  mutable refcache_sync::Mutex mu_;
  Table sessions_ GUARDED_BY(mu_);                                       // Streamable HTTP
  std::unordered_map<std::string, SseEntry> sse_ GUARDED_BY(mu_);        // legacy SSE
  std::unordered_map<std::string, std::size_t> owners_ GUARDED_BY(mu_);  // both, by owner_key
};

}  // namespace mcp::detail
