#include "caller_relay.hpp"

#include <condition_variable>
#include <mutex>

#include "caller_principal.hpp"
#include "mcp/errors.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace gateway {

namespace json = boost::json;

// The handler's context while the request runs: `alive` until the relay ends, `users` the
// deliveries under way.
struct DirectRelay::State {
  State(mcp::ToolContext& c, bool s) : ctx(c), silent(s) {}
  mcp::ToolContext& ctx;
  const bool silent;
  std::mutex mu;
  std::condition_variable cv;
  bool alive = true;
  int users = 0;
};

DirectRelay::DirectRelay(mcp::ToolContext& ctx, bool silent)
    : state_(std::make_shared<State>(ctx, silent)) {}

DirectRelay::~DirectRelay() {
  std::unique_lock lock(state_->mu);
  state_->alive = false;
  state_->cv.wait(lock, [this] { return state_->users == 0; });
}

void DirectRelay::attach(mcp::CallOptions& co, CallSink& sink) const {
  co.on_progress = [s = state_](const mcp::Progress& p) {
    std::lock_guard lock(s->mu);
    if (s->alive && !s->silent) s->ctx.progress(p.progress, p.total, p.message);
  };
  sink.log = [s = state_](const mcp::LogMessage& m) {
    std::lock_guard lock(s->mu);
    if (s->alive && !s->silent) s->ctx.log(m.level, m.data, m.logger);
  };
  // The request to the client blocks, so it is made outside the lock, counted as a use.
  sink.ask = [s = state_](const std::string& method, const json::value& params) {
    if (s->silent)
      throw mcp::Error(mcp::error_code::kInvalidRequest,
                       "the client cannot be asked during a computation on values it may not "
                       "read");
    {
      std::lock_guard lock(s->mu);
      if (!s->alive) throw mcp::Error(mcp::error_code::kInternalError, "the call has ended");
      ++s->users;
    }
    struct Release {
      State& s;
      ~Release() {
        std::lock_guard lock(s.mu);
        --s.users;
        s.cv.notify_all();
      }
    } release{*s};
    return s->ctx.request_client(method, params);
  };
}

namespace {

// Refuses a request of the upstream's that the caller did not declare it can answer: with the
// caller's capabilities forwarded (CallOptions::input_capabilities), a 2026-07-28 upstream does
// not ask for it, and a 2025-11-25 upstream, which had the gateway's, is told no.
void check_declared(const json::object& caps, const std::string& method) {
  const char* needed = method == "elicitation/create"       ? "elicitation"
                       : method == "sampling/createMessage" ? "sampling"
                       : method == "roots/list"             ? "roots"
                                                            : nullptr;
  if (needed && !caps.contains(needed))
    throw mcp::Error(mcp::error_code::kInvalidRequest,
                     "refcache-gateway: the client did not declare the " + std::string(needed) +
                         " capability (" + method + " refused)");
}

}  // namespace

bool askable(const mcp::ToolContext& ctx) {
  return ctx.era() == mcp::Era::kModern &&
         (ctx.client_supports("elicitation") || ctx.client_supports("sampling") ||
          ctx.client_supports("roots"));
}

RelayedResult relay_across_rounds(Upstream& up, ParkedCalls& parked, mcp::ToolContext& ctx,
                                  const std::string& principal, ParkedCalls::Finish finish,
                                  std::function<RelayedResult(mcp::CallOptions&)> call) {
  return parked.start(
      ctx, principal, std::move(finish),
      [&up, call = std::move(call), principal,
       caps = ctx.client_capabilities()](const std::shared_ptr<RelayedCall>& relayed) {
        mcp::CallOptions co;
        co.cancellation = &relayed->token();
        co.input_capabilities = caps;
        co.on_progress = [relayed](const mcp::Progress& p) { relayed->progress(p); };
        CallSink sink;
        sink.principal = principal;
        sink.log = [relayed](const mcp::LogMessage& m) { relayed->log(m); };
        sink.ask = [relayed, caps](const std::string& method, const json::value& params) {
          check_declared(caps, method);
          return relayed->ask(method, params);
        };
        // The requests of one upstream round reach the caller in one round.
        sink.ask_all = [relayed, caps](const json::object& requests) {
          for (const auto& [key, request] : requests)
            check_declared(caps, std::string(request.as_object().at("method").as_string()));
          return relayed->ask_all(requests);
        };
        Upstream::CallScope scope(up, std::move(sink));
        return call(co);
      });
}

RelayedResult forward_request(Upstream& up, ParkedCalls& parked, mcp::ToolContext& ctx,
                              std::function<RelayedResult(mcp::CallOptions&)> call) {
  const std::string principal = caller_principal(refcache::mcp::identity_of(ctx));
  if (ctx.era() == mcp::Era::kModern && !ctx.request_state().empty())
    return parked.resume(ctx, principal);
  if (askable(ctx))
    return relay_across_rounds(
        up, parked, ctx, principal, [](RelayedResult r) { return r; }, std::move(call));
  mcp::CallOptions co;
  co.cancellation = &ctx.token();
  co.input_capabilities = ctx.client_capabilities();
  CallSink sink;
  sink.principal = principal;
  DirectRelay direct(ctx);
  direct.attach(co, sink);
  Upstream::CallScope scope(up, std::move(sink));
  return call(co);
}

}  // namespace gateway
