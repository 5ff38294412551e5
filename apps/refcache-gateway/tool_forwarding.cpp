#include "tool_forwarding.hpp"

#include <spdlog/spdlog.h>

#include "aggregation.hpp"
#include "caller_principal.hpp"
#include "caller_relay.hpp"
#include "media_refs.hpp"
#include "parked_calls.hpp"
#include "private_result.hpp"
#include "ref_arguments.hpp"
#include "refcache/errors.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "response_cache.hpp"
#include "result_interception.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

// The answer to a caller for an upstream's result: media by reference where configured, then
// a ref with a preview when it is large.
mcp::CallToolResult respond(refcache::RefCache& cache, const refcache::CallIdentity& who,
                            mcp::CallToolResult result, const EffectiveSettings& s,
                            const InterceptOptions& answer) {
  if (s.media_by_ref) result = media_by_reference(cache, who, std::move(result), answer);
  return intercept(cache, who, std::move(result), answer);
}

// Calls one upstream tool for a client: refs in the arguments resolved, the result intercepted.
mcp::CallToolResult forward(refcache::RefCache& root, ParkedCalls& parked, Upstream& up,
                            const std::string& exposed, const mcp::ToolSpec& tool,
                            const EffectiveSettings& s, const json::value& args,
                            mcp::ToolContext& ctx) {
  try {
    const refcache::CallIdentity who = refcache::mcp::identity_of(ctx);
    // The caller's tenant's store, for its refs in and its results out (--tenants).
    refcache::RefCache& cache = root.tenant(who.tenant);
    // The retry of a 2026-07-28 round that asked for input: it continues its call, which was
    // made with the first round's arguments and answers by the first round's rules.
    if (ctx.era() == mcp::Era::kModern && !ctx.request_state().empty())
      return relayed_as<mcp::CallToolResult>(parked.resume(ctx, caller_principal(who)));
    ResolvedArguments in;
    in.args = args.is_null() ? json::value(json::object{}) : args;
    if (s.accept_refs && has_ref_arguments(in.args))
      in = resolve_arguments(cache, in.args, refcache::derive_actor(who),
                             cache.options().call_defaults.input_limits, tool.input_schema);
    const json::value& forwarded = in.args;
    // Values the caller may only EXECUTE went into the call: nothing of it reaches the caller
    // but a withheld ref (private_result.hpp).
    const bool confined = !in.private_inputs.empty();
    // The client's budget hint (valid values only) goes on to the upstream too: a refcache
    // upstream then answers a ref whose preview fits, instead of a preview the gateway would
    // store as a ref of its own; the gateway still fits whatever comes back.
    const refcache::mcp::BudgetHint hint = refcache::mcp::budget_hint_from(ctx.meta());
    const InterceptOptions answer{.threshold = s.threshold,
                                  .preview_size = s.preview_size,
                                  .upstream = up.name(),
                                  .tool = exposed,
                                  .hint = hint};
    // An identical call of the same caller within the tool's TTL: the upstream is not asked.
    // The hint is part of the call, since the upstream receives it and may answer by it.
    const std::chrono::seconds ttl =
        confined ? std::chrono::seconds{0} : response_ttl(s, tool.annotations);
    std::string key;
    if (ttl.count() > 0) {
      if (hint.max_chars || hint.max_tokens) {
        json::object keyed{{"arguments", forwarded}};
        if (hint.max_chars) keyed["max_chars"] = *hint.max_chars;
        if (hint.max_tokens) keyed["max_tokens"] = *hint.max_tokens;
        key = response_key(cache, up.name(), tool.name, keyed, who);
      } else {
        key = response_key(cache, up.name(), tool.name, forwarded, who);
      }
      if (auto kept = cached_response(cache, key)) {
        spdlog::debug("{}: answered from the response cache", exposed);
        return respond(cache, who, std::move(*kept), s, answer);
      }
    }
    // A 2026-07-28 caller that can answer input requests (it declared elicitation, sampling
    // or roots) gets the upstream's requests relayed as input_required rounds, which needs the
    // upstream call on a thread of its own. A caller that declared none could not answer
    // them: its call runs here, as a 2025-11-25 caller's does, and an upstream's request is
    // refused.
    if (!confined && askable(ctx)) {
      // Whichever round receives the result answers with it.
      auto finish = [&cache, who, key, ttl, s, answer](mcp::CallToolResult result) {
        keep_response(cache, key, result, ttl, who);
        return respond(cache, who, std::move(result), s, answer);
      };
      ParkedCalls::Finish relayed_finish = [finish = std::move(finish)](RelayedResult r) {
        return RelayedResult(finish(relayed_as<mcp::CallToolResult>(std::move(r))));
      };
      return relayed_as<mcp::CallToolResult>(relay_across_rounds(
          up, parked, ctx, caller_principal(who), std::move(relayed_finish),
          [&up, name = tool.name, forwarded, hint](mcp::CallOptions& co) -> RelayedResult {
            if (hint.max_chars) co.meta[refcache::mcp::kMaxResultSizeCharsKey] = *hint.max_chars;
            if (hint.max_tokens) co.meta[refcache::mcp::kMaxResultTokensKey] = *hint.max_tokens;
            return up.call_tool(name, forwarded, co);
          }));
    }
    // Progress, log messages and requests of the upstream reach the client while this call
    // runs, never after (DirectRelay); a confined call's reach nobody.
    mcp::CallOptions co;
    co.cancellation = &ctx.token();
    // A 2026-07-28 upstream asks only for what the caller can answer; nothing in a confined call.
    co.input_capabilities = confined ? json::object{} : ctx.client_capabilities();
    if (hint.max_chars) co.meta[refcache::mcp::kMaxResultSizeCharsKey] = *hint.max_chars;
    if (hint.max_tokens) co.meta[refcache::mcp::kMaxResultTokensKey] = *hint.max_tokens;
    CallSink sink;
    // A confined call is a principal of its own, so that what the upstream sends without
    // naming a request never goes to anybody while it runs (caller_principal.hpp).
    sink.principal =
        confined ? "private-call:" + refcache::make_ref_id(cache.name()) : caller_principal(who);
    mcp::CallToolResult result;
    {
      DirectRelay direct(ctx, confined);
      direct.attach(co, sink);
      Upstream::CallScope scope(up, std::move(sink));
      if (!confined) {
        result = up.call_tool(tool.name, forwarded, co);
      } else {
        // A failure is answered like a success, a withheld ref: whether a computation on
        // private values fails is a fact about them. The caller's own cancellation is not.
        try {
          result = up.call_tool(tool.name, forwarded, co);
        } catch (const mcp::ClientError& e) {
          if (e.kind() == mcp::ClientError::Kind::kCancelled) throw;
          result = mcp::CallToolResult::error(std::string(to_string(e.kind())) + ": " + e.what());
        } catch (const mcp::Error& e) {
          result = mcp::CallToolResult::error(e.what());
        }
      }
    }
    if (confined) return withhold(cache, who, std::move(result), in, answer);
    keep_response(cache, key, result, ttl, who);
    return respond(cache, who, std::move(result), s, answer);
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
                               std::set<std::string> reserved, ParkedCalls& parked)
    : server_(server),
      cache_(cache),
      config_(config),
      upstreams_(upstreams),
      reserved_(std::move(reserved)),
      parked_(parked) {}

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
    // A result may come back as a ref: the schema says so beside the upstream's. The gateway
    // answers every call itself, without tasks.
    spec.output_schema = published_output_schema(original.output_schema);
    spec.task_support = mcp::TaskSupport::kForbidden;
    spec.task_deferred = false;
    server_.tool_raw(std::move(spec),
                     [&cache = cache_, &parked = parked_, &up, exposed = routed.exposed_name,
                      original, s](const json::value& args, mcp::ToolContext& ctx) {
                       return forward(cache, parked, up, exposed, original, s, args, ctx);
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
