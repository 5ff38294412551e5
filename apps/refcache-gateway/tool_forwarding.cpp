#include "tool_forwarding.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

#include "aggregation.hpp"
#include "caller_principal.hpp"
#include "ref_arguments.hpp"
#include "refcache/errors.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "result_interception.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

// Guards the uses of one call's context by the upstream's callbacks.
struct Hook {
  std::mutex mu;
  std::condition_variable cv;
  bool alive = true;
  int users = 0;
};

// Calls one upstream tool for a client: refs in the arguments resolved, the result intercepted.
mcp::CallToolResult forward(refcache::RefCache& cache, Upstream& up, const std::string& exposed,
                            const mcp::ToolSpec& tool, const EffectiveSettings& s,
                            const json::value& args, mcp::ToolContext& ctx) {
  try {
    const refcache::CallIdentity who = refcache::mcp::identity_of(ctx);
    json::value forwarded = args.is_null() ? json::value(json::object{}) : args;
    if (s.accept_refs && has_ref_arguments(forwarded))
      forwarded = resolve_arguments(cache, forwarded, refcache::derive_actor(who),
                                    cache.options().call_defaults.input_limits, tool.input_schema);
    // Progress, log messages and requests of the upstream reach the client while this call
    // runs, never after: each use of `ctx` holds the hook, and the call waits for the uses to
    // end before it returns.
    auto hook = std::make_shared<Hook>();
    mcp::CallOptions co;
    co.cancellation = &ctx.token();
    // The client's budget hint (valid values only) goes on to the upstream too: a refcache
    // upstream then answers a ref whose preview fits, instead of a preview the gateway would
    // store as a ref of its own; the gateway still fits whatever comes back.
    const refcache::mcp::BudgetHint hint = refcache::mcp::budget_hint_from(ctx.meta());
    if (hint.max_chars) co.meta[refcache::mcp::kMaxResultSizeCharsKey] = *hint.max_chars;
    if (hint.max_tokens) co.meta[refcache::mcp::kMaxResultTokensKey] = *hint.max_tokens;
    co.on_progress = [hook, &ctx](const mcp::Progress& p) {
      std::lock_guard lock(hook->mu);
      if (hook->alive) ctx.progress(p.progress, p.total, p.message);
    };
    CallSink sink;
    sink.principal = caller_principal(who);
    sink.log = [hook, &ctx](const mcp::LogMessage& m) {
      std::lock_guard lock(hook->mu);
      if (hook->alive) ctx.log(m.level, m.data, m.logger);
    };
    sink.ask = [hook, &ctx](const std::string& method, const json::value& params) {
      {
        std::lock_guard lock(hook->mu);
        if (!hook->alive) throw mcp::Error(mcp::error_code::kInternalError, "the call has ended");
        ++hook->users;
      }
      struct Release {
        Hook& h;
        ~Release() {
          std::lock_guard lock(h.mu);
          --h.users;
          h.cv.notify_all();
        }
      } release{*hook};
      return ctx.request_client(method, params);
    };
    mcp::CallToolResult result;
    {
      Upstream::CallScope scope(up, std::move(sink));
      struct End {
        Hook& h;
        ~End() {
          std::unique_lock lock(h.mu);
          h.alive = false;
          h.cv.wait(lock, [this] { return h.users == 0; });
        }
      } end{*hook};
      result = up.call_tool(tool.name, forwarded, co);
    }
    return intercept(cache, who, std::move(result),
                     {.threshold = s.threshold,
                      .preview_size = s.preview_size,
                      .upstream = up.name(),
                      .tool = exposed,
                      .hint = hint});
  } catch (const refcache::InvalidReference& e) {
    return mcp::CallToolResult::error(e.what());
  } catch (const refcache::CircularReference& e) {
    return mcp::CallToolResult::error(e.what());
  } catch (const refcache::PermissionDenied&) {
    return mcp::CallToolResult::error(refcache::kInvalidReferenceText);
  } catch (const refcache::NotFound&) {
    return mcp::CallToolResult::error(refcache::kInvalidReferenceText);
  } catch (const refcache::InvalidArgument& e) {
    return mcp::CallToolResult::error(e.what());
  } catch (const refcache::BackendError& e) {
    return mcp::CallToolResult::error(std::string("Cache backend unavailable: ") + e.what());
  } catch (const mcp::ClientError& e) {
    std::string message = "upstream '" + up.name();
    message += "': ";
    message += to_string(e.kind());
    message += ": ";
    message += e.what();
    return mcp::CallToolResult::error(std::move(message));
  } catch (const mcp::Error&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::warn("{}: internal error: {}", exposed, e.what());
    return mcp::CallToolResult::error("Internal error");
  }
}

}  // namespace

ToolForwarding::ToolForwarding(mcp::Server& server, refcache::RefCache& cache,
                               const GatewayConfig& config,
                               const std::vector<std::unique_ptr<Upstream>>& upstreams,
                               std::set<std::string> reserved)
    : server_(server),
      cache_(cache),
      config_(config),
      upstreams_(upstreams),
      reserved_(std::move(reserved)) {}

std::size_t ToolForwarding::sync(bool notify, bool always) {
  std::lock_guard lock(mu_);
  const std::size_t cache_preview = cache_.options().preview.max_size;
  // The offered tools of each upstream, as it lists them now.
  std::vector<std::vector<mcp::ToolSpec>> offered(upstreams_.size());
  std::vector<UpstreamNames> lists;
  for (std::size_t i = 0; i < upstreams_.size(); ++i) {
    const Upstream& u = *upstreams_[i];
    UpstreamNames l{.server = u.name(), .prefix = u.config().prefix};
    for (auto& t : u.tools())
      if (!config_.settings_for(u.config(), t.name, cache_preview).hidden) {
        l.names.push_back(t.name);
        offered[i].push_back(std::move(t));
      }
    lists.push_back(std::move(l));
  }
  KeptNames kept;
  for (const auto& [exposed, where] : offered_)
    kept[{upstreams_[where.first]->name(), std::string(where.second.at("name").as_string())}] =
        exposed;
  NameAggregation agg = aggregate(lists, reserved_, "tool", kept);
  for (const auto& r : agg.reports) spdlog::warn("name collision: {}", r);

  std::map<std::string, std::pair<std::size_t, json::value>> now;
  for (const auto& routed : agg.items) {
    Upstream& up = *upstreams_[routed.upstream];
    const mcp::ToolSpec& original = offered[routed.upstream][routed.item];
    json::value listed = original.to_json();
    now[routed.exposed_name] = {routed.upstream, listed};
    if (auto it = offered_.find(routed.exposed_name);
        it != offered_.end() && it->second.first == routed.upstream && it->second.second == listed)
      continue;  // unchanged
    const EffectiveSettings s = config_.settings_for(up.config(), original.name, cache_preview);
    mcp::ToolSpec spec = original;
    spec.name = routed.exposed_name;
    if (s.accept_refs) {
      spec.input_schema = published_schema(original.input_schema);
      std::string& d = spec.description;
      if (!d.empty() && d.back() != '.' && d.back() != '\n') d += '.';
      if (!d.empty()) d += ' ';
      d += "Arguments accept a ref_id (or ref_id#/json/pointer) in place of data.";
    }
    // A result may come back as a ref, which the upstream's output schema does not describe;
    // and the gateway answers every call itself, without tasks.
    spec.output_schema = nullptr;
    spec.task_support = mcp::TaskSupport::kForbidden;
    spec.task_deferred = false;
    server_.tool_raw(std::move(spec),
                     [&cache = cache_, &up, exposed = routed.exposed_name, original, s](
                         const json::value& args, mcp::ToolContext& ctx) {
                       return forward(cache, up, exposed, original, s, args, ctx);
                     });
  }
  bool changed = now.size() != offered_.size();
  for (const auto& [name, where] : offered_) {
    auto it = now.find(name);
    if (it == now.end()) {
      server_.remove_tool(name);
      changed = true;
    } else if (it->second != where) {
      changed = true;
    }
  }
  offered_ = std::move(now);
  if ((changed || always) && notify) server_.notify_tools_list_changed();
  return offered_.size();
}

}  // namespace gateway
