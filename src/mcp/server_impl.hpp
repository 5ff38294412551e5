// Internal: Server::Impl, the state behind mcp::Server, and the parts it is made of:
//
//   ToolRegistry, ResourceRegistry, PromptRegistry   what is registered (tools.cpp,
//                                                    resources.cpp, prompts.cpp)
//   Subscriptions                                    attached sessions and subscriptions/listen
//                                                    streams; broadcasts (notifications.cpp)
//   ServerMetrics                                    the SDK's metric families
//                                                    (server_metrics.cpp)
//   RequestStateSigner                               MRTR requestState integrity
//                                                    (request_state.cpp)
//   Server::Impl                                     the dispatcher -- JSON-RPC validation, era
//                                                    per message, the method tables of both eras,
//                                                    the worker pool, call deadlines, answers
//                                                    (dispatch.cpp) -- and the methods, each
//                                                    defined in the file of its concern
//                                                    (lifecycle.cpp: initialize, ping,
//                                                    logging/setLevel, server/discover;
//                                                    tools.cpp; resources.cpp; prompts.cpp;
//                                                    notifications.cpp: subscriptions/listen;
//                                                    task_engine.cpp: tasks/*).
//
// Thread-safety: each registry and Subscriptions is internally synchronized (one lock each,
// never held while user code runs); ServerMetrics records with atomics. The method tables are
// fixed at construction and read without a lock.
#pragma once

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "call_state.hpp"
#include "crypto.hpp"
#include "deadline_timer.hpp"
#include "mcp/server.hpp"
#include "sync.hpp"
#include "task_engine.hpp"
#include "thread_annotations.hpp"
#include "worker_pool.hpp"

namespace mcp {
namespace detail {

using CallPtr = std::shared_ptr<CallState>;

// _meta keys of the 2026-07-28 era.
inline constexpr std::string_view kMetaVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kMetaCaps = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view kMetaServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view kMetaSubscriptionId = "io.modelcontextprotocol/subscriptionId";

// What handlers' unexpected exceptions become for the client. The detail (what() of a
// Boost.JSON error names a source file of the server, for one) goes to the log only.
inline constexpr std::string_view kInternalErrorText = "Internal error";

// Member `key` of `o` if it is an object / a string; null otherwise.
inline const boost::json::object* member_object(const boost::json::object& o,
                                                std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->value().if_object();
}
inline const boost::json::string* member_string(const boost::json::object& o,
                                                std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->value().if_string();
}
inline std::string string_or_empty(const boost::json::string* s) {
  return s ? std::string(*s) : std::string();
}

// The compact JSON of a request id: the key of the in-flight and pending tables.
std::string id_key(const boost::json::value& id);

// One page of a */list result: `items` from the request's cursor (a decimal index; anything
// else is -32602 "Invalid cursor"), `page_size` of them (0 = all), under `key`, with
// nextCursor when more remain.
template <class Item, class F>
boost::json::object page(const CallState& c, const std::vector<std::shared_ptr<Item>>& items,
                         std::size_t page_size, const char* key, F&& to_json);

// --- tools ------------------------------------------------------------------------------------

// Per-tool call counters, kept by name so that replacing a tool keeps its counts.
struct ToolCounters {
  metrics::Counter ok, tool_error, protocol_error, input_required;
  metrics::Histogram duration{metrics::latency_buckets()};
};

struct ToolEntry {
  std::shared_ptr<ToolCounters> counters;
  ToolSpec spec;
  ToolHandler fn;
  bool validate = false;                                           // against spec.input_schema
  boost::json::value listed;                                       // spec.to_json(), computed once
  std::vector<std::pair<std::string, std::string>> header_params;  // x-mcp-header properties
};

class ToolRegistry {
 public:
  // Adds `e`, or replaces the tool of the same name (keeping its place in the list and its
  // counters).
  void add(const std::shared_ptr<ToolEntry>& e);
  bool remove(const std::string& name);
  std::shared_ptr<ToolEntry> find(const std::string& name) const;
  std::vector<std::pair<std::string, std::string>> header_params(const std::string& name) const;
  // Whether some tool may run as a task (then the tasks capability is advertised).
  bool any_task_support() const;
  std::vector<std::shared_ptr<ToolEntry>> list() const;
  // Every tool name ever registered with its counters, by name.
  std::vector<std::pair<std::string, std::shared_ptr<ToolCounters>>> counters() const;

 private:
  mutable SharedMutex mu_;
  std::vector<std::shared_ptr<ToolEntry>> tools_ GUARDED_BY(mu_);  // in registration order
  std::unordered_map<std::string, std::shared_ptr<ToolEntry>> index_ GUARDED_BY(mu_);
  // Never shrinks, so the names stay bounded by what was registered.
  std::map<std::string, std::shared_ptr<ToolCounters>> counters_ GUARDED_BY(mu_);
};

// --- resources --------------------------------------------------------------------------------

struct ResourceEntry {
  Resource spec;
  ResourceHandler fn;
};
struct TemplateEntry {
  ResourceTemplate spec;
  TemplateHandler fn;
};

class ResourceRegistry {
 public:
  // Adds, or replaces the resource of the same URI / the template of the same URI template.
  void add(std::shared_ptr<ResourceEntry> e);
  bool remove(const std::string& uri);
  void add_template(std::shared_ptr<TemplateEntry> e);
  // No resource and no template: the resources methods do not exist.
  bool empty() const;
  std::vector<std::shared_ptr<ResourceEntry>> resources() const;
  std::vector<std::shared_ptr<TemplateEntry>> templates() const;

  // What serves `uri`: the resource of that URI, else the first template that matches it
  // (with the variables it matched); neither when nothing does.
  struct Match {
    std::shared_ptr<ResourceEntry> resource;
    std::shared_ptr<TemplateEntry> tmpl;
    std::map<std::string, std::string> vars;
  };
  Match match(const std::string& uri) const;

  void set_subscribe_check(SubscribeCheck check);
  SubscribeCheck subscribe_check() const;
  bool has_subscribe_check() const;

 private:
  mutable SharedMutex mu_;
  std::vector<std::shared_ptr<ResourceEntry>> resources_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<TemplateEntry>> templates_ GUARDED_BY(mu_);
  SubscribeCheck subscribe_check_ GUARDED_BY(mu_);
};

// --- prompts and completion -------------------------------------------------------------------

struct PromptEntry {
  PromptSpec spec;
  PromptHandler fn;
};

class PromptRegistry {
 public:
  // Adds, or replaces the prompt of the same name.
  void add(std::shared_ptr<PromptEntry> e);
  bool remove(const std::string& name);
  std::shared_ptr<PromptEntry> find(const std::string& name) const;
  bool empty() const;
  std::vector<std::shared_ptr<PromptEntry>> list() const;
  void set_completion(CompletionHandler fn);
  CompletionHandler completion() const;
  bool has_completion() const;

 private:
  mutable SharedMutex mu_;
  std::vector<std::shared_ptr<PromptEntry>> prompts_ GUARDED_BY(mu_);
  CompletionHandler completion_ GUARDED_BY(mu_);
};

// --- sessions, listen streams, broadcasts ----------------------------------------------------

// A 2026-07-28 subscriptions/listen stream: what it asked to hear, and where it goes.
struct Listener {
  std::weak_ptr<Session> session;
  std::shared_ptr<Outbound> out;
  boost::json::value id;               // the listen request's id: the subscription id
  std::optional<Principal> principal;  // who opened the stream
  bool tools = false, prompts = false, resources = false;  // *ListChanged notifications
  std::set<std::string> uris;                              // resources/updated of these
};

class Subscriptions {
 public:
  void attach(const std::shared_ptr<Session>& s);
  // Forgets `s` and its listen streams.
  void detach(const std::shared_ptr<Session>& s);
  void add_listener(Listener l);
  // Forgets the listen stream going to `out` (and streams whose outbound is gone).
  void drop_listener(const std::shared_ptr<Outbound>& out);

  // Which listen streams a list_changed notification is for.
  using Wants = bool (*)(const Listener&);
  // Sends notification `method` with `params`: to every initialized legacy session with a
  // standalone channel, and to the listen streams `wants` selects (params tagged with the
  // subscription id). With `uri`, only to sessions subscribed to it and listen streams that
  // asked for it, and, with `filter`, only to the subscribers it accepts. The filter runs on
  // this thread, outside every SDK lock.
  void broadcast(const std::string& method, const boost::json::object& params, Wants wants,
                 const std::string* uri, const SubscriberFilter* filter);
  std::vector<std::string> subscribed_uris() const;
  // Sessions attached now, by TransportKind.
  std::array<std::int64_t, 4> active_by_kind() const;

 private:
  mutable refcache_sync::Mutex mu_;
  std::vector<std::weak_ptr<Session>> sessions_ GUARDED_BY(mu_);
  std::vector<Listener> listeners_ GUARDED_BY(mu_);
};

// --- metrics ----------------------------------------------------------------------------------

class ServerMetrics {
 public:
  // `methods`: every method name of both eras; requests for any other count as "other".
  explicit ServerMetrics(const std::vector<std::string>& methods);
  void count_request(const std::string& method);
  // The SDK's families (mcp/metrics.hpp), with the tool counters and active sessions given.
  void write(metrics::TextWriter& w,
             const std::vector<std::pair<std::string, std::shared_ptr<ToolCounters>>>& tools,
             const std::array<std::int64_t, 4>& active_sessions) const;
  void add_source(std::function<void(metrics::TextWriter&)> source);
  std::vector<std::function<void(metrics::TextWriter&)>> sources() const;

  std::array<metrics::Counter, 4> sessions_created;  // by TransportKind
  metrics::Counter deadlines_exceeded;               // calls answered by their deadline
  metrics::Counter busy_pool, busy_caller;           // calls refused: which queue was full
  TransportMetrics transport;

 private:
  // The key set is fixed at construction, so lookups and increments need no lock.
  std::unordered_map<std::string, std::unique_ptr<metrics::Counter>> method_counts_;
  mutable refcache_sync::Mutex sources_mu_;
  std::vector<std::function<void(metrics::TextWriter&)>> sources_ GUARDED_BY(sources_mu_);
};

// --- MRTR request state -----------------------------------------------------------------------

// Wraps a handler's requestState with the method, the tool/prompt name or URI, and an expiry,
// and signs it with HMAC-SHA256 under a per-process random key, so that a state that was
// tampered with, has expired or belongs to another request never reaches a handler.
class RequestStateSigner {
 public:
  explicit RequestStateSigner(std::chrono::seconds ttl) : ttl_(ttl) {}
  // "v1.<payload>.<mac>", base64url.
  std::string sign(const CallState& c, const std::string& state) const;
  // The state inside `token` if it is genuine, unexpired and for this request.
  bool verify(const CallState& c, std::string_view token, std::string& state) const;

 private:
  const std::string key_ = crypto::random_bytes(32);
  const std::chrono::seconds ttl_;
};

}  // namespace detail

struct Server::Impl {
  using CallPtr = detail::CallPtr;

  Impl(Server& s, const ServerOptions& o);

  Server& self;
  const ServerOptions& opt;
  std::unique_ptr<WorkerPool> pool;
  detail::DeadlineTimer deadlines;  // ServerOptions::call_timeout of calls on the pool
  detail::RequestStateSigner request_state;
  detail::ToolRegistry tools;
  detail::ResourceRegistry resources;
  detail::PromptRegistry prompts;
  detail::Subscriptions subscriptions;
  std::unique_ptr<detail::TaskEngine> tasks;

  // --- the method tables (dispatch.cpp) ----------------------------------------------------
  using Method = boost::json::value (Impl::*)(const CallPtr&);
  struct MethodInfo {
    Method fn;
    bool on_pool;    // runs a user handler: on the worker pool, with a deadline
    bool cacheable;  // modern: ttlMs/cacheScope
    bool mrtr;       // may answer input_required
  };
  std::unordered_map<std::string, MethodInfo> legacy_methods, modern_methods;
  std::unique_ptr<detail::ServerMetrics> metrics;  // after the tables: counts their methods

  // --- dispatch (dispatch.cpp) ---------------------------------------------------------------
  void handle(const std::shared_ptr<Session>& session, json message,
              const std::shared_ptr<Outbound>& out, const MessageInfo& info);
  // Runs method `mi` for `c` and answers (or leaves the request open: subscriptions/listen).
  void run(const CallPtr& c, const MethodInfo& mi);
  // Answers `c` once (later answers are dropped): `text` with HTTP `status`, or nothing when
  // the client cancelled it.
  void finish(const CallPtr& c, std::string text, int status);
  void finish_error(const CallPtr& c, int code, std::string_view message,
                    const boost::json::value& data = nullptr);
  // The 2026-07-28 decorations of a result: resultType, _meta serverInfo, and for cacheable
  // results ttlMs and cacheScope.
  void decorate_modern(boost::json::object& r, bool cacheable, bool authenticated) const;
  // The call's deadline passed: answers now and cancels the call.
  void expire(const CallPtr& c);
  static std::string result_text(const boost::json::value& id, const boost::json::value& result);

  // --- lifecycle (lifecycle.cpp) -------------------------------------------------------------
  boost::json::object capabilities(Era era) const;
  boost::json::value m_initialize(const CallPtr& c);
  boost::json::value m_ping(const CallPtr& c);
  boost::json::value m_set_level(const CallPtr& c);
  boost::json::value m_discover(const CallPtr& c);

  // --- tools and tasks (tools.cpp) -----------------------------------------------------------
  boost::json::value m_tools_list(const CallPtr& c);
  boost::json::value m_tools_call(const CallPtr& c);
  boost::json::value call_tool(const CallPtr& c, const detail::ToolEntry& t);
  boost::json::value m_tasks_get(const CallPtr& c);
  boost::json::value m_tasks_update(const CallPtr& c);
  boost::json::value m_tasks_cancel(const CallPtr& c);
  boost::json::value m_tasks_result(const CallPtr& c);
  boost::json::value m_tasks_list(const CallPtr& c);

  // --- resources and subscriptions (resources.cpp) -------------------------------------------
  boost::json::value m_resources_list(const CallPtr& c);
  boost::json::value m_templates_list(const CallPtr& c);
  boost::json::value m_resources_read(const CallPtr& c);
  boost::json::value m_subscribe(const CallPtr& c);
  boost::json::value m_unsubscribe(const CallPtr& c);
  // The application's subscribe check (set_subscribe_check) for `uri`; true without one.
  bool may_subscribe(const CallPtr& c, const std::string& uri);

  // --- prompts and completion (prompts.cpp) --------------------------------------------------
  boost::json::value m_prompts_list(const CallPtr& c);
  boost::json::value m_prompts_get(const CallPtr& c);
  boost::json::value m_complete(const CallPtr& c);

  // --- notifications (notifications.cpp) -----------------------------------------------------
  boost::json::value m_listen(const CallPtr& c);
};

namespace detail {

template <class Item, class F>
boost::json::object page(const CallState& c, const std::vector<std::shared_ptr<Item>>& items,
                         std::size_t page_size, const char* key, F&& to_json) {
  std::size_t start = 0;
  if (auto it = c.params.find("cursor"); it != c.params.end() && !it->value().is_null()) {
    const boost::json::string* cur = it->value().if_string();
    std::string s = cur ? std::string(*cur) : std::string();
    char* end = nullptr;
    unsigned long long v = s.empty() ? 0 : std::strtoull(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || v > items.size())
      throw Error(error_code::kInvalidParams, "Invalid cursor");
    start = v;
  }
  const std::size_t n = page_size ? page_size : items.size();
  boost::json::array a;
  std::size_t i = start;
  for (; i < items.size() && a.size() < n; ++i) a.push_back(to_json(*items[i]));
  boost::json::object r{{key, std::move(a)}};
  if (i < items.size()) r["nextCursor"] = std::to_string(i);
  return r;
}

}  // namespace detail
}  // namespace mcp
