#include "refcache_mcp/cached_tools.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <thread>

#include "jsonio/json_text.hpp"
#include "refcache/instrumented_backend.hpp"
#include "refcache/ref_id.hpp"
#include "refcache/ref_path.hpp"
#include "refcache/resolution.hpp"
#include "refcache_mcp/budget_hint.hpp"
#if REFCACHE_WITH_SQLITE
#include "refcache/ref_query.hpp"
#endif
#include "stats_json.hpp"

namespace refcache::mcp {
namespace json = boost::json;

namespace {

constexpr const char* kUriPrefix = kRefUriPrefix;
// No value has more pages than this; larger page numbers are refused by the schema.
constexpr std::int64_t kMaxPage = 1000000000;

::mcp::CallToolResult opaque_reference_error(std::string_view ref_id) {
  ::mcp::CallToolResult r;
  json::object body{{"error", kInvalidReferenceText},
                    {"message", "Reference not found, expired, or access denied"},
                    {"ref_id", ref_id}};
  r.content.push_back(::mcp::text_content(jsonio::to_string(body)));
  r.structured_content = std::move(body);
  r.is_error = true;
  return r;
}

::mcp::CallToolResult error_result(std::string message) {
  ::mcp::CallToolResult r;
  json::object body{{"error", message}};
  r.content.push_back(::mcp::text_content(std::move(message)));
  r.structured_content = std::move(body);
  r.is_error = true;
  return r;
}

// Runs `body`, turning every failure into the tool error an agent can act on. Permission
// failures never say more than the opaque reference text; exceptions that are not ours (a
// library's text may hold paths and internals) say only that an internal error happened, and
// their text goes to the operator's log.
template <class Body>
::mcp::CallToolResult guarded(Body body, std::string_view ref_hint = {}) {
  try {
    return body();
  } catch (const InvalidReference& e) {
    return error_result(e.what());
  } catch (const CircularReference& e) {
    return error_result(e.what());
  } catch (const PermissionDenied&) {
    return opaque_reference_error(ref_hint);
  } catch (const NotFound&) {
    return opaque_reference_error(ref_hint);
  } catch (const BackendError& e) {
    return error_result(std::string("Cache backend unavailable: ") + e.what());
  } catch (const CallFailed& e) {
    if (!e.detail().empty()) spdlog::warn("tool failed: {} ({})", e.what(), e.detail());
    return error_result(e.what());
  } catch (const Cancelled& e) {
    return error_result(e.what());
  } catch (const InvalidArgument& e) {
    return error_result(e.what());
  } catch (const ::mcp::Error&) {
    throw;  // protocol-level conditions stay protocol errors
  } catch (const std::exception& e) {
    spdlog::warn("internal error: {}", e.what());
    return error_result("Internal error");
  }
}

// An optional integer argument. The schema bounds it; a value outside int64 is refused with a
// message naming the argument, never a library's text.
std::optional<std::int64_t> opt_int(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const json::value& v = it->value();
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v.get_uint64());
  if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
      std::fabs(v.get_double()) < 9.0e15)
    return static_cast<std::int64_t>(v.get_double());
  throw InvalidArgument("'" + std::string(k) + "' must be an integer in range");
}

std::string opt_string(const json::object& o, std::string_view k, std::string dflt = {}) {
  auto it = o.find(k);
  if (it == o.end() || !it->value().is_string()) return dflt;
  return std::string(it->value().get_string());
}

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "bool";
    case json::kind::int64:
    case json::kind::uint64:
      return "int";
    case json::kind::double_:
      return "float";
    case json::kind::string:
      return "str";
    case json::kind::array:
      return "list";
    case json::kind::object:
      return "dict";
  }
  return "unknown";
}

// The admin tools' short preview: 100 characters of a string, 5 items of a list, 5 keys.
json::value admin_preview(const json::value& v) {
  if (v.is_string()) {
    std::string s(v.get_string());
    if (s.size() > 100) {
      std::size_t cut = 100;
      while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
      s = s.substr(0, cut) + "...";
    }
    return json::value(s);
  }
  if (v.is_array()) {
    json::array out;
    const auto& a = v.get_array();
    for (std::size_t i = 0; i < a.size() && i < 5; ++i) out.push_back(a[i]);
    if (a.size() > 5) out.emplace_back("...");
    return out;
  }
  if (v.is_object()) {
    json::object out;
    std::size_t i = 0;
    for (const auto& kv : v.get_object()) {
      if (i++ == 5) {
        out["..."] = "...";
        break;
      }
      out[kv.key()] = "...";
    }
    return out;
  }
  return v;
}

json::object reference_info(RefCache& cache, const std::string& ref_id, const EntryPtr& e,
                            const Actor& viewer, bool include_preview) {
  json::object o;
  o["ref_id"] = ref_id;
  o["namespace"] = e->ns;
  o["created_at"] = iso8601(e->created_at);
  o["expires_at"] = e->expires_at ? json::value(iso8601(*e->expires_at)) : json::value(nullptr);
  o["tool_name"] = e->standard.tool_name ? *e->standard.tool_name : json::value(nullptr);
  o["owner"] = e->policy.owner ? json::value(*e->policy.owner) : json::value(nullptr);
  o["policy"] = json::object{{"user_permissions", permission_name(e->policy.user_permissions)},
                             {"agent_permissions", permission_name(e->policy.agent_permissions)},
                             {"owner_permissions", permission_name(e->policy.owner_permissions)},
                             {"session_bound", e->policy.bound_session.has_value()}};
  o["value_type"] = kind_name(e->value);
  std::optional<std::size_t> items;
  if (e->value.is_array()) items = e->value.get_array().size();
  if (e->value.is_object()) items = e->value.get_object().size();
  o["total_items"] = items ? json::value(*items) : json::value(nullptr);
  o["total_size"] = e->standard.total_size ? *e->standard.total_size : json::value(nullptr);
  if (include_preview) {
    // Never a value without READ, whoever asks.
    if (cache.checker().allows(e->policy, Permission::kRead, viewer, e->ns))
      o["preview"] = admin_preview(e->value);
    else
      o["preview_withheld"] = true;
  }
  return o;
}

json::object tool_schema(json::object properties, json::array required = {}) {
  json::object s{
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) s["required"] = std::move(required);
  return s;
}

}  // namespace

CallIdentity identity_of(const ::mcp::ToolContext& ctx) {
  return identity_of(ctx.session_id(), ctx.principal(), ctx.peer_address());
}

CallIdentity identity_of(const std::string& session_id,
                         const std::optional<::mcp::Principal>& principal,
                         const std::string& peer_address) {
  CallIdentity who;
  if (!session_id.empty()) who.values["session_id"] = session_id;
  if (!peer_address.empty()) who.values["peer_address"] = peer_address;
  if (const auto& p = principal) {
    if (!p->subject.empty()) who.values["user_id"] = p->subject;
    for (const char* claim : {"org_id", "tenant_id", "agent_id"}) {
      auto it = p->claims.find(claim);
      if (it != p->claims.end() && it->value().is_string())
        who.values[claim] = std::string(it->value().get_string());
    }
  }
  who.tenant = tenant_of(who.values);
  who.default_actor = Actor::agent();
  return who;
}

std::string tenant_of(const std::map<std::string, std::string>& values) {
  for (const char* key : {"tenant_id", "org_id"})
    if (auto it = values.find(key); it != values.end() && !it->second.empty()) return it->second;
  return {};
}

RefCache& cache_for(RefCache& cache, const ::mcp::ToolContext& ctx) {
  return cache.tenant(identity_of(ctx).tenant);
}

json::value ref_id_schema() {
  return json::object{{"type", "string"},
                      {"pattern", kRefPathPattern},
                      {"description",
                       "ref_id of a cached value (from an earlier tool call), optionally followed "
                       "by #/json/pointer (RFC 6901) to name a part of it, e.g. "
                       "\"calc:0123456789abcdef#/rows/0/id\""}};
}

namespace {

// `schema` or a ref id: anyOf[schema, ref id string], keeping its description and default.
json::value or_ref(json::value original) {
  json::object widened;
  if (original.is_object()) {
    auto& oo = original.as_object();
    if (auto d = oo.find("description"); d != oo.end()) widened["description"] = d->value();
    if (auto d = oo.find("default"); d != oo.end()) widened["default"] = d->value();
  }
  widened["anyOf"] = json::array{std::move(original), ref_id_schema()};
  return widened;
}

}  // namespace

json::value accept_refs(const json::value& schema, const std::vector<std::string>& params) {
  json::value out = schema.is_null() ? json::value(json::object{{"type", "object"}}) : schema;
  if (!out.is_object()) return out;
  auto props = out.as_object().find("properties");
  if (props == out.as_object().end() || !props->value().is_object()) return out;
  for (auto& kv : props->value().as_object()) {
    if (!params.empty() &&
        std::find(params.begin(), params.end(), std::string(kv.key())) == params.end())
      continue;
    // A list parameter also takes refs as its items (e.g. datasets: [ref, [1, 2], ref]).
    if (kv.value().is_object()) {
      auto& p = kv.value().as_object();
      auto items = p.find("items");
      if (items != p.end() && p.contains("type") && p.at("type") == "array")
        items->value() = or_ref(std::move(items->value()));
    }
    kv.value() = or_ref(std::move(kv.value()));
  }
  return out;
}

::mcp::CallToolResult to_tool_result(const json::object& response) {
  ::mcp::CallToolResult r = ::mcp::CallToolResult::structured(response);
  auto ref = response.find("ref_id");
  auto complete = response.find("is_complete");
  auto async = response.find("is_async");
  const bool shown_whole = complete != response.end() && complete->value() == true;
  const bool running = async != response.end() && async->value() == true;
  if (ref != response.end() && ref->value().is_string() && !shown_whole && !running) {
    std::string id(ref->value().get_string());
    r.content.push_back(::mcp::resource_link(
        kUriPrefix + id, id, "The cached result; read it for the value your permissions allow.",
        "application/json"));
  }
  return r;
}

void cached_tool_raw(::mcp::Server& server, RefCache& cache, CachedToolSpec spec, CallFn fn) {
  json::value own_schema = spec.tool.input_schema.is_null()
                               ? json::value(json::object{{"type", "object"}})
                               : spec.tool.input_schema;
  spec.tool.input_schema = accept_refs(own_schema, spec.ref_params);
  spec.cache.ref_params = spec.ref_params;
  if (spec.describe_caching) {
    std::string& d = spec.tool.description;
    if (!d.empty() && d.back() != '.') d += '.';
    d += " Parameters accept a ref_id (or ref_id#/json/pointer for a part of its value) in place "
         "of data. Large results return a ref_id with a "
         "preview. " +
         retrieval_guidance();
  }
  // Refs are resolved first; then the arguments must satisfy the tool's own schema.
  CallFn checked = [own_schema, fn = std::move(fn)](const json::object& args, CallContext& ctx) {
    std::string err = ::mcp::validate(own_schema, json::value(args));
    if (!err.empty()) throw InvalidArgument("Invalid arguments: " + err);
    return fn(args, ctx);
  };
  auto call = std::make_shared<CachedCall>(cache, spec.tool.name, std::move(checked), spec.cache);
  cache.remember_call(call);  // for cache warming (cache_warmer.hpp)
  server.tool_raw(
      std::move(spec.tool), [call, &cache](const json::value& args, ::mcp::ToolContext& ctx) {
        return guarded([&] {
          static const json::object kEmpty;
          const json::object& a = args.is_object() ? args.get_object() : kEmpty;
          // Progress may be reported by a background run after this handler returned; the hook
          // reaches the context only while the handler is still running.
          struct Hook {
            std::mutex mu;
            bool alive = true;
          };
          auto hook = std::make_shared<Hook>();
          CallOverrides ov;
          ov.on_progress = [hook, &ctx](const TaskProgress& p) {
            std::lock_guard lock(hook->mu);
            if (!hook->alive || !p.current) return;
            std::optional<double> total;
            if (p.total) total = static_cast<double>(*p.total);
            ctx.progress(static_cast<double>(*p.current), total, p.message.value_or(""));
          };
          ov.cancel = std::make_shared<std::atomic<bool>>(false);
          ctx.token().on_cancel([flag = ov.cancel] { flag->store(true); });
          // A client's budget hint lowers the call's budget (the tool's max_size, else the
          // cache's); fitting may ask for the answer again with a smaller budget, which the
          // cache answers from the stored result.
          const BudgetHint hint = budget_hint_from(ctx.meta());
          const PreviewConfig& config = cache.options().preview;
          const CallIdentity who = identity_of(ctx);
          ::mcp::CallToolResult result;
          try {
            if (hint.empty()) {
              result = to_tool_result(call->call(a, who, ov));
            } else {
              const std::size_t base = call->options().max_size.value_or(config.max_size);
              result = fit_to_hint(hint, base, config, [&](std::size_t budget) {
                ov.max_size = budget;
                return to_tool_result(call->call(a, who, ov));
              });
            }
          } catch (...) {
            std::lock_guard lock(hook->mu);
            hook->alive = false;
            throw;
          }
          {
            std::lock_guard lock(hook->mu);
            hook->alive = false;
          }
          return result;
        });
      });
}

namespace {

void add_get_cached_result(::mcp::Server& server, RefCache& root, const InstallOptions& opt) {
  ::mcp::ToolSpec spec;
  spec.name = "get_cached_result";
  spec.title = "Get cached result";
  spec.description =
      "Read a cached result by its ref_id: a preview (default), a page of it, a larger preview, "
      "or the full value. A ref_id followed by #/json/pointer (RFC 6901) reads that part of "
      "the value the same way. " +
      retrieval_guidance() +
      " A preview is never the whole value unless its `complete` is true; `omitted` says what it "
      "leaves out and `how_to_get_more` how to get the rest. "
      "Values you may use but not read (private data) show only their structure (keys and "
      "types, no values), and results computed from them nothing; pass their ref_id to other "
      "tools instead.";
  spec.input_schema = tool_schema(
      {{"ref_id", ref_id_schema()},
       {"preview_strategy",
        {{"type", "string"},
         {"maxLength", 64},
         {"description",
          "How to preview: sample, paginate, truncate, shape, or a strategy this server "
          "adds (an unknown name's error lists them all). Default: shape (structure, "
          "per-field statistics, first rows) for a large list of objects, sample otherwise; "
          "paginate when a page is asked for"}}},
       {"page",
        {{"type", "integer"},
         {"minimum", 1},
         {"maximum", kMaxPage},
         {"description", "Page number, from 1"}}},
       {"page_size",
        {{"type", "integer"},
         {"minimum", 1},
         {"maximum", opt.max_page_size},
         {"description", "Items per page (default 20)"}}},
       {"max_size",
        {{"type", "integer"},
         {"minimum", 1},
         {"maximum", opt.max_max_size},
         {"description", "Preview size budget; larger shows more"}}},
       {"full",
        {{"type", "boolean"}, {"default", false}, {"description", "Return the complete value"}}}},
      {"ref_id"});
  spec.annotations.read_only_hint = true;
  spec.annotations.open_world_hint = false;
  server.tool_raw(std::move(spec), [&root](const json::value& args, ::mcp::ToolContext& ctx) {
    const json::object& a = args.get_object();
    const std::string ref = opt_string(a, "ref_id");
    return guarded(
        [&]() -> ::mcp::CallToolResult {
          const CallIdentity who = identity_of(ctx);
          const Actor actor = derive_actor(who);
          RefCache& cache = root.tenant(who.tenant);
          // A ref path pages and previews the part its pointer names, like any value. A string
          // that is neither is looked up as written, and found as nothing.
          const auto rp = parse_ref_path(ref);
          const std::string_view id = rp ? rp->ref_id : std::string_view(ref);
          const std::string_view pointer = rp ? rp->pointer : std::string_view();
          const BudgetHint hint = budget_hint_from(ctx.meta());
          auto full = a.find("full");
          const bool want_full = full != a.end() && full->value() == true;
          if (want_full) {
            ValuePtr v = cache.resolve(id, actor);  // READ checked before the pointer is applied
            std::string why;
            const json::value* part = select_part(*v, pointer, &why);
            if (part == nullptr) throw PartNotFound(ref, missing_part_message(ref, why));
            json::object out{{"ref_id", ref},
                             {"value", *part},
                             {"is_complete", true},
                             {"complete", true},
                             {"retrieval_mode", "full"}};
            auto whole = ::mcp::CallToolResult::structured(std::move(out));
            // A full value larger than the client accepts is answered as a preview that
            // fits, and says why it is not the full value.
            if (fits_hint(whole, hint, cache.options().preview)) return whole;
          }
          GetOptions go;
          go.pointer = std::string(pointer);
          go.page = opt_int(a, "page");
          go.page_size = opt_int(a, "page_size");
          if (auto m = opt_int(a, "max_size")) go.max_size = static_cast<std::size_t>(*m);
          go.strategy_name = opt_string(a, "preview_strategy");
          auto answer = [&](std::optional<std::size_t> budget) {
            if (budget) go.max_size = budget;
            GetResult g = cache.get(id, actor, go);
            if (auto* t = std::get_if<AsyncTaskResponse>(&g))
              return ::mcp::CallToolResult::structured(t->to_json());
            json::object out = std::get<CacheResponse>(g).to_json();
            if (rp && rp->has_pointer) out["ref_id"] = ref;  // the next page is of the part
            out["retrieval_mode"] = "preview";
            if (want_full) out["full_exceeds_hint"] = true;
            return ::mcp::CallToolResult::structured(std::move(out));
          };
          if (hint.empty()) return answer(std::nullopt);
          const std::size_t base = go.max_size.value_or(cache.options().preview.max_size);
          return fit_to_hint(hint, base, cache.options().preview,
                             [&](std::size_t budget) { return answer(budget); });
        },
        ref);
  });
}

#if REFCACHE_WITH_SQLITE

// The schema members query_cached_result shares with get_cached_result's paging.
json::object paging_properties(const InstallOptions& opt) {
  return {{"page",
           {{"type", "integer"},
            {"minimum", 1},
            {"maximum", kMaxPage},
            {"description", "Page of the answer, from 1 (default: a preview)"}}},
          {"page_size",
           {{"type", "integer"},
            {"minimum", 1},
            {"maximum", opt.max_page_size},
            {"description", "Rows per page (default 20)"}}},
          {"max_size",
           {{"type", "integer"},
            {"minimum", 1},
            {"maximum", opt.max_max_size},
            {"description", "Preview size budget; larger shows more"}}}};
}

// Registers a tool that runs `call` over the ref named by ref_id, as its caller: the cached
// call resolves the ref (and the refs inside its value) with the caller's permissions, before
// anything runs, so a missing, foreign or forged ref gets get_cached_result's opaque answer
// whatever the other arguments say.
//   A ref the caller may READ is queried and answered like any cached result. A ref the caller
// may only EXECUTE (or a value holding one) makes the query a private computation
// (docs/concepts.md): its answer -- or its failure -- is stored so that nobody may read it and
// answered by ref id (value_withheld), usable by tools. A query is a program the caller writes,
// so its running time could spell out the value (a condition on it choosing a slow branch):
// every call that ends withheld, or fails after it may have run, is answered no sooner than
// `private_answer_after` from its start, which is longer than any query may run.
// `args_of` picks the tool's own arguments (besides ref_id) for the cached call; with page
// or page_size, the answer is that page of the cached result.
void add_ref_tool(::mcp::Server& server, RefCache& root, ::mcp::ToolSpec spec,
                  std::shared_ptr<CachedCall> call,
                  std::function<json::object(const json::object&)> args_of,
                  std::chrono::milliseconds private_answer_after) {
  spec.annotations.read_only_hint = true;
  spec.annotations.open_world_hint = false;
  server.tool_raw(
      std::move(spec), [&root, call = std::move(call), args_of = std::move(args_of),
                        private_answer_after](const json::value& args, ::mcp::ToolContext& ctx) {
        static const json::object kEmpty;
        const json::object& a = args.is_object() ? args.get_object() : kEmpty;
        const std::string ref = opt_string(a, "ref_id");
        const auto started = std::chrono::steady_clock::now();
        bool pad = false;  // answer no sooner than private_answer_after (see above)
        struct Pad {
          const bool& on;
          std::chrono::steady_clock::time_point until;
          ::mcp::ToolContext& ctx;
          ~Pad() {
            while (on && !ctx.cancelled() && std::chrono::steady_clock::now() < until)
              std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
        } padding{pad, started + private_answer_after, ctx};
        return guarded(
            [&]() -> ::mcp::CallToolResult {
              if (!parse_ref_path(ref)) throw NotFound("not a ref id");
              const CallIdentity who = identity_of(ctx);
              const Actor actor = derive_actor(who);
              RefCache& cache = root.tenant(who.tenant);
              json::object call_args = args_of(a);
              call_args["ref_id"] = ref;
              CallOverrides ov;
              const auto explicit_max = opt_int(a, "max_size");
              if (explicit_max) ov.max_size = static_cast<std::size_t>(*explicit_max);
              ov.cancel = std::make_shared<std::atomic<bool>>(false);
              ctx.token().on_cancel([flag = ov.cancel] { flag->store(true); });
              const auto page = opt_int(a, "page");
              const auto page_size = opt_int(a, "page_size");
              auto answer = [&](std::optional<std::size_t> budget) {
                if (budget) ov.max_size = budget;
                json::object response;
                try {
                  response = call->call(call_args, who, ov);
                } catch (const PartNotFound&) {
                  throw;  // only a reader learns which token of a pointer names nothing
                } catch (const InvalidReference& e) {
                  // The ref itself: the answer get_cached_result gives. A ref inside its value
                  // keeps the resolution's opaque text, which names that inner ref.
                  if (e.ref_id() == ref) throw NotFound(e.what());
                  throw;
                } catch (const QuotaExceeded&) {
                  pad = true;  // storing the answer failed: its size could depend on the value
                  throw;
                } catch (const BackendError&) {
                  pad = true;
                  throw;
                }
                if (response.contains("value_withheld")) pad = true;
                auto answer_ref = response.find("ref_id");
                if ((page || page_size) && answer_ref != response.end() &&
                    answer_ref->value().is_string() && !response.contains("value_withheld")) {
                  GetOptions go;
                  go.page = page.value_or(1);
                  go.page_size = page_size;
                  if (ov.max_size) go.max_size = ov.max_size;
                  GetResult g = cache.get(answer_ref->value().get_string(), actor, go);
                  if (auto* r = std::get_if<CacheResponse>(&g)) response = r->to_json();
                }
                return to_tool_result(response);
              };
              // A client's budget hint lowers the answer's budget (header: budget_hint.hpp).
              const BudgetHint hint = budget_hint_from(ctx.meta());
              if (hint.empty()) return answer(std::nullopt);
              const std::size_t base = ov.max_size.value_or(
                  call->options().max_size.value_or(cache.options().preview.max_size));
              return fit_to_hint(hint, base, cache.options().preview,
                                 [&](std::size_t budget) { return answer(budget); });
            },
            ref);
      });
}

void add_query_tools(::mcp::Server& server, RefCache& cache, const InstallOptions& opt) {
  QueryLimits limits;
  limits.deadline = opt.query_deadline;
  limits.max_rows = opt.query_max_rows;
  limits.max_memory = opt.query_max_memory;
  CachedCallOptions co;
  co.ref_params = {"ref_id"};
  // Longer than any query runs (its deadline), with a second for storing the answer.
  const auto private_answer_after = opt.query_deadline + std::chrono::seconds(1);

  auto query = std::make_shared<CachedCall>(
      cache, "query_cached_result",
      [limits](const json::object& a, CallContext& ctx) {
        QueryLimits l = limits;
        l.cancelled = [&ctx] { return ctx.cancelled(); };
        auto sql = a.find("sql");
        if (sql == a.end() || !sql->value().is_string()) throw InvalidArgument("'sql' is required");
        return query_value(a.at("ref_id"), sql->value().get_string(), l);
      },
      co);
  ::mcp::ToolSpec q;
  q.name = "query_cached_result";
  q.title = "Query cached result";
  q.description =
      "Run one read-only SQL SELECT (SQLite) over a cached result, instead of "
      "paging through all of it. A result that is a list of objects is the table `data` with "
      "one column per key (nested objects and lists are JSON text: use json_extract); any "
      "other value is `data(value)` holding its JSON, e.g. `SELECT sum(j.value) FROM data, "
      "json_each(data.value) AS j`. Look at the preview's shape first, query for what you "
      "need (filter, aggregate, LIMIT), then page only the answer. The answer (a list of row "
      "objects) is cached like any result: large answers return a ref_id and a preview; pass "
      "page/page_size to get a page of it. On a result withheld from you (value_withheld), "
      "the answer is withheld too: a ref_id you can pass to tools. Only SELECT is allowed "
      "(no PRAGMA, ATTACH or "
      "writes); a query runs at most " +
      std::to_string(opt.query_deadline.count()) + " ms and answers at most " +
      std::to_string(opt.query_max_rows) + " rows.";
  json::object qp = paging_properties(opt);
  qp["ref_id"] = ref_id_schema();
  qp["sql"] = {{"type", "string"},
               {"minLength", 1},
               {"maxLength", static_cast<std::int64_t>(limits.max_sql_length)},
               {"description", "One SQLite SELECT statement over the table `data`"}};
  q.input_schema = tool_schema(std::move(qp), {"ref_id", "sql"});
  add_ref_tool(
      server, cache, std::move(q), std::move(query),
      [](const json::object& a) {
        return json::object{{"sql", opt_string(a, "sql")}};
      },
      private_answer_after);

  auto search = std::make_shared<CachedCall>(
      cache, "search_cached_result",
      [limits](const json::object& a, CallContext& ctx) {
        QueryLimits l = limits;
        l.cancelled = [&ctx] { return ctx.cancelled(); };
        auto text = a.find("query");
        if (text == a.end() || !text->value().is_string())
          throw InvalidArgument("'query' is required");
        const auto n = opt_int(a, "limit").value_or(10);
        return search_value(a.at("ref_id"), text->value().get_string(), static_cast<std::size_t>(n),
                            l);
      },
      co);
  ::mcp::ToolSpec s;
  s.name = "search_cached_result";
  s.title = "Search cached result";
  s.description =
      "Full-text search (SQLite FTS5, ranked by bm25) over the text of a cached result: "
      "the string fields of a list of objects, the items of a list of strings, or the "
      "lines of a text. Answers the best hits first, each with its row (the index of the item "
      "or line, for get_cached_result or query_cached_result), a snippet with matches in "
      "[brackets], and the item itself when it is small. The query uses FTS5 syntax: words "
      "(all must occur), \"exact phrases\", OR, NOT, prefix*. On a result withheld from "
      "you (value_withheld), the answer is withheld too: a ref_id you can pass to tools.";
  s.input_schema =
      tool_schema({{"ref_id", ref_id_schema()},
                   {"query",
                    {{"type", "string"},
                     {"minLength", 1},
                     {"maxLength", static_cast<std::int64_t>(limits.max_sql_length)},
                     {"description", "FTS5 query: words, \"phrases\", OR, NOT, prefix*"}}},
                   {"limit",
                    {{"type", "integer"},
                     {"minimum", 1},
                     {"maximum", opt.max_search_hits},
                     {"description", "Most hits to return (default 10)"}}}},
                  {"ref_id", "query"});
  add_ref_tool(
      server, cache, std::move(s), std::move(search),
      [](const json::object& a) {
        json::object out{{"query", opt_string(a, "query")}};
        if (auto n = opt_int(a, "limit")) out["limit"] = *n;
        return out;
      },
      private_answer_after);
}

#endif  // REFCACHE_WITH_SQLITE

// Reads the ref `ref` (or the part `pointer` names; "" = all of it) for resources/read of
// `uri`, as the caller of `ctx`. `written` is the ref as the URI names it, for messages.
::mcp::ReadResourceResult read_ref(RefCache& root, const std::string& uri, std::string_view ref,
                                   std::string_view pointer, const std::string& written,
                                   ::mcp::ToolContext& ctx) {
  const CallIdentity who = identity_of(ctx);
  const Actor actor = derive_actor(who);
  RefCache& cache = root.tenant(who.tenant);
  ::mcp::ResourceContents c;
  c.uri = uri;
  c.mime_type = "application/json";
  // A missing ref and a forbidden one cost the same lookups (the entry, then the task
  // record), so that timing does not tell which refs exist.
  EntryPtr e;
  Permission eff = Permission::kNone;
  try {
    e = cache.entry_for(ref, actor, Permission::kNone);
    eff = cache.checker().effective(e->policy, actor, e->ns);
  } catch (const NotFound&) {
  } catch (const PermissionDenied&) {
  }
  const json::value* media_type = e ? e->metadata.if_contains(kMediaMimeType) : nullptr;
  if (e && has_all(eff, Permission::kRead) && pointer.empty() && media_type != nullptr &&
      media_type->is_string() && e->value.is_string()) {
    c.mime_type = std::string(media_type->get_string());
    const json::value* encoding = e->metadata.if_contains(kMediaEncoding);
    if (encoding != nullptr && *encoding == kBase64)
      c.blob = std::string(e->value.get_string());
    else
      c.text = std::string(e->value.get_string());
  } else if (e && has_all(eff, Permission::kRead)) {
    std::string why;
    const json::value* part = select_part(e->value, pointer, &why);
    if (part == nullptr)
      throw ::mcp::Error(::mcp::error_code::kInvalidParams, missing_part_message(written, why),
                         json::object{{"uri", uri}});
    c.text = jsonio::to_string(*part);
  } else if (e && has_all(eff, Permission::kExecute)) {
    // Whether the pointer names anything is not said: that would describe the value.
    json::object d{{"ref_id", written}, {"namespace", e->ns}, {"value_withheld", true}};
    d["message"] = "You may pass this ref_id to tools but not read its value.";
    c.text = jsonio::to_string(d);
  } else {
    auto task = cache.task(ref);
    if (e || !task || task->status == TaskStatus::kComplete ||
        cache.checker().effective(task->policy, actor, task->ns) == Permission::kNone)
      throw ::mcp::ResourceNotFound(uri);  // the same answer as for a missing ref
    c.text = jsonio::to_string(AsyncTaskResponse::from_task(*task, cache.now()).to_json());
  }
  ::mcp::ReadResourceResult r;
  r.contents.push_back(std::move(c));
  return r;
}

void add_ref_resources(::mcp::Server& server, RefCache& cache) {
  ::mcp::ResourceTemplate t;
  t.uri_template = std::string(kUriPrefix) + "{ref_id}";
  t.name = "cached-result";
  t.title = "Cached result";
  t.description =
      "A value cached by this server (or another sharing its cache), as JSON. Values you may "
      "use but not read are described without their content.";
  t.mime_type = "application/json";
  server.resource_template(
      std::move(t), [&cache](const std::string& uri, const std::map<std::string, std::string>& vars,
                             ::mcp::ToolContext& ctx) {
        auto it = vars.find("ref_id");
        if (it == vars.end() || !is_ref_id(it->second)) throw ::mcp::ResourceNotFound(uri);
        return read_ref(cache, uri, it->second, {}, it->second, ctx);
      });

  // The part of a value: refcache://{ref_id}#{JSON Pointer}, the pointer percent-encoded as
  // a URI fragment (RFC 6901 section 6). The URI is split and decoded here, as sent: the
  // template's variables split it at the first place that matches, not at the '#', and
  // decoding it once more would turn an encoded '%' into an escape.
  ::mcp::ResourceTemplate part;
  part.uri_template = std::string(kUriPrefix) + "{ref_id}{#pointer}";
  part.name = "cached-result-part";
  part.title = "Part of a cached result";
  part.description =
      "The part of a cached value that a JSON Pointer (RFC 6901, percent-encoded as the URI "
      "fragment) names, e.g. refcache://calc:0123456789abcdef#/rows/0. Readable exactly when "
      "the whole value is.";
  part.mime_type = "application/json";
  server.resource_template(
      std::move(part),
      [&cache](const std::string& uri, const std::map<std::string, std::string>& /*vars*/,
               ::mcp::ToolContext& ctx) {
        const std::string_view prefix(kUriPrefix);
        const auto hash = uri.find('#');
        if (!uri.starts_with(prefix) || hash == std::string::npos)
          throw ::mcp::ResourceNotFound(uri);
        const auto ref =
            percent_decode(std::string_view(uri).substr(prefix.size(), hash - prefix.size()));
        const auto pointer = percent_decode(std::string_view(uri).substr(hash + 1));
        if (!ref || !is_ref_id(*ref) || !pointer || !is_json_pointer(*pointer))
          throw ::mcp::ResourceNotFound(uri);
        return read_ref(cache, uri, *ref, *pointer, *ref + "#" + *pointer, ctx);
      });
}

// Wraps an admin handler with the gate.
::mcp::ToolHandler gated(
    AdminCheck check, std::function<json::object(const json::object&, ::mcp::ToolContext&)> body) {
  return [check = std::move(check), body = std::move(body)](const json::value& args,
                                                            ::mcp::ToolContext& ctx) {
    if (!check) return error_result("No admin check configured");
    if (!check(ctx)) return error_result("Admin access required");
    return guarded([&] {
      static const json::object kEmpty;
      return ::mcp::CallToolResult::structured(
          body(args.is_object() ? args.get_object() : kEmpty, ctx));
    });
  };
}

void add_admin_tools(::mcp::Server& server, RefCache& root, const InstallOptions& opt) {
  const std::string& p = opt.admin_prefix;
  auto admin_spec = [&](const std::string& name, std::string description, json::object schema) {
    ::mcp::ToolSpec s;
    s.name = p + name;
    s.description = std::move(description) + " Administrators only.";
    s.input_schema = std::move(schema);
    return s;
  };

  server.tool_raw(
      admin_spec("list_references",
                 "List cached references, optionally of one namespace, a page at a time.",
                 tool_schema({{"namespace", {{"type", "string"}}},
                              {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
                              {"cursor", {{"type", "string"}}},
                              {"include_preview", {{"type", "boolean"}}}})),
      gated(opt.admin_check, [&root](const json::object& a, ::mcp::ToolContext& ctx) {
        RefCache& cache = cache_for(root, ctx);  // an administrator's own tenant's store
        std::optional<std::string> ns;
        if (auto n = opt_string(a, "namespace"); !n.empty()) ns = n;
        const std::size_t limit = static_cast<std::size_t>(opt_int(a, "limit").value_or(50));
        auto preview = a.find("include_preview");
        const bool with_preview = preview != a.end() && preview->value() == true;
        const Actor viewer = derive_actor(identity_of(ctx));
        ListPage page = cache.backend().list(ns, opt_string(a, "cursor"), limit);
        json::array refs;
        for (const auto& id : page.ref_ids)
          if (EntryPtr e = cache.backend().get(id))
            refs.push_back(reference_info(cache, id, e, viewer, with_preview));
        return json::object{
            {"references", std::move(refs)},
            {"count", page.ref_ids.size()},
            {"next_cursor",
             page.next_cursor.empty() ? json::value(nullptr) : json::value(page.next_cursor)},
            {"namespace_filter", ns ? json::value(*ns) : json::value(nullptr)}};
      }));

  server.tool_raw(admin_spec("get_reference_info", "Describe one cached reference.",
                             tool_schema({{"ref_id", ref_id_schema()}}, {"ref_id"})),
                  gated(opt.admin_check, [&root](const json::object& a, ::mcp::ToolContext& ctx) {
                    // An administrator acts on the store of its own tenant.
                    RefCache& cache = root.tenant(identity_of(ctx).tenant);
                    const std::string ref = opt_string(a, "ref_id");
                    EntryPtr e = cache.backend().get(ref);
                    if (!e)
                      return json::object{{"error", "Not found"},
                                          {"message", "Reference '" + ref + "' not found"},
                                          {"ref_id", ref}};
                    return reference_info(cache, ref, e, derive_actor(identity_of(ctx)), true);
                  }));

  server.tool_raw(
      admin_spec("delete_reference", "Delete one cached reference.",
                 tool_schema({{"ref_id", ref_id_schema()}}, {"ref_id"})),
      gated(opt.admin_check, [&root](const json::object& a, ::mcp::ToolContext& ctx) {
        RefCache& cache = cache_for(root, ctx);  // an administrator's own tenant's store
        const std::string ref = opt_string(a, "ref_id");
        if (cache.backend().remove(ref))
          return json::object{
              {"success", true}, {"message", "Reference '" + ref + "' deleted"}, {"ref_id", ref}};
        return json::object{{"success", false}, {"error", "Not found"}, {"ref_id", ref}};
      }));

  server.tool_raw(
      admin_spec("clear_namespace",
                 "Delete every reference of a namespace (and, with include_children, of the "
                 "namespaces below it, e.g. user:alice:*).",
                 tool_schema({{"namespace", {{"type", "string"}}},
                              {"include_children", {{"type", "boolean"}}}},
                             {"namespace"})),
      gated(opt.admin_check, [&root](const json::object& a, ::mcp::ToolContext& ctx) {
        RefCache& cache = cache_for(root, ctx);  // an administrator's own tenant's store
        const std::string ns = opt_string(a, "namespace");
        if (ns.empty())
          return json::object{{"success", false},
                              {"error", "Invalid namespace"},
                              {"message", "Namespace cannot be empty"}};
        auto children = a.find("include_children");
        const bool with_children = children != a.end() && children->value() == true;
        std::size_t n = cache.clear(ns);
        if (with_children) {
          // Children are found by listing the whole store: an administrative, rare operation.
          const std::string prefix = ns + ":";
          for (const auto& id : cache.backend().keys()) {
            EntryPtr e = cache.backend().get(id);
            if (e && e->ns.compare(0, prefix.size(), prefix) == 0 && cache.backend().remove(id))
              ++n;
          }
        }
        return json::object{
            {"success", true},
            {"message", "Cleared " + std::to_string(n) + " references from namespace '" + ns + "'"},
            {"namespace", ns},
            {"deleted_count", n},
            {"include_children", with_children}};
      }));

  server.tool_raw(
      admin_spec("get_cache_stats", "Counters and configuration of the cache.", tool_schema({})),
      gated(opt.admin_check, [&root](const json::object&, ::mcp::ToolContext& ctx) {
        RefCache& cache = cache_for(root, ctx);  // an administrator's own tenant's store
        const auto& o = cache.options();
        BackendStats st = cache.backend().stats();
        Health h = cache.backend().health();
        json::object out{
            {"cache_name", o.name},
            {"tenant",
             cache.tenant_id().empty() ? json::value(nullptr) : json::value(cache.tenant_id())},
            {"backend", cache.backend().kind()},
            {"backend_health", json::object{{"ok", h.ok}, {"detail", h.detail}}},
            {"default_ttl_seconds",
             o.default_ttl == kNoExpiry
                 ? json::value(nullptr)
                 : json::value(std::chrono::duration<double>(o.default_ttl).count())},
            {"preview_config",
             json::object{{"size_mode", to_string(o.preview.size_mode)},
                          {"token_counter", to_string(o.preview.token_counter)},
                          {"max_size", o.preview.max_size},
                          {"default_strategy", to_string(o.preview.default_strategy)}}},
            {"default_policy",
             json::object{{"user_permissions",
                           "Permission." + permission_name(o.default_policy.user_permissions)},
                          {"agent_permissions",
                           "Permission." + permission_name(o.default_policy.agent_permissions)}}}};
        for (auto& kv : backend_counters(st)) out.insert(std::move(kv));
        return out;
      }));
}

}  // namespace

void install(::mcp::Server& server, RefCache& cache, const InstallOptions& options) {
  if (options.get_cached_result) add_get_cached_result(server, cache, options);
#if REFCACHE_WITH_SQLITE
  if (options.query_tools) add_query_tools(server, cache, options);
#endif
  if (options.ref_resources) add_ref_resources(server, cache);
  if (options.admin_tools) add_admin_tools(server, cache, options);
  if (options.metrics) {
    // The cache's families join the SDK's at /metrics and in get_metrics. The backend is
    // timed when it is an InstrumentedBackend (run_server wraps it); otherwise only its
    // stats() are written.
    server.add_metrics_source([&cache](metrics::TextWriter& w) {
      if (auto* ib = dynamic_cast<const InstrumentedBackend*>(&cache.backend()))
        ib->write_metrics(w);
      else
        write_backend_stats(w, cache.backend().kind(), cache.backend().stats());
    });
    if (options.admin_tools) {
      ::mcp::ToolSpec s;
      s.name = options.admin_prefix + "get_metrics";
      s.description =
          "The server's metrics (cache, backend latency, tool calls, sessions) in the "
          "Prometheus text format, as served at /metrics over HTTP. Administrators only.";
      s.input_schema = tool_schema({});
      s.annotations.read_only_hint = true;
      server.tool_raw(std::move(s), [check = options.admin_check, &server](
                                        const json::value&, ::mcp::ToolContext& ctx) {
        if (!check) return error_result("No admin check configured");
        if (!check(ctx)) return error_result("Admin access required");
        ::mcp::CallToolResult r;
        r.content.push_back(::mcp::text_content(server.metrics_text()));
        return r;
      });
    }
  }
}

std::string retrieval_guidance() {
  return "Use `get_cached_result(ref_id, page=..., page_size=...)` to page through a result, "
         "`get_cached_result(ref_id, max_size=...)` for a larger preview, or "
         "`get_cached_result(ref_id, full=True)` for the complete value.";
}

std::string cache_instructions() {
  return R"(This server uses reference-based caching: large results are stored and you get a
`ref_id` with a preview instead of the whole value.

## Response types
- Small results come whole: `{"ref_id", "value", "is_complete": true}`.
- Large results come as `{"ref_id", "preview", "is_complete": false, "total_items",
  "original_size", "preview_size", "preview_strategy"}`. A preview is NEVER the whole value
  unless `complete` (or `is_complete`) is true: `get_cached_result` answers also say in
  `omitted` what the preview leaves out (`items` not shown, `characters` cut,
  `nesting_shrunk`, `summarised`, `dropped`) and in `how_to_get_more` how to get the rest.
- A large list of objects (rows, records) first comes as its shape, in a tool's answer and
  in `get_cached_result`: the columns (keys) with their types, null and missing counts,
  array lengths, per-field count, distinct count, min/max, most frequent values, and the
  first rows -- a description to write a query from, not the data. Other values come as a
  `sample`.
- Previews come in strategies (`preview_strategy` of `get_cached_result`): `sample` (evenly
  spaced items), `paginate` (one page), `truncate` (the JSON text cut), `shape` (as above),
  and any the server adds.
- Some results show only `{"ref_id", "value_withheld": true}`: they were computed from data
  you may use but not read. Data you may use but not read shows only its structure (keys and
  types seen in at least a minimum number of items, no values). You can still pass that
  ref_id to tools.

## Working with references
- Full value: `get_cached_result(ref_id, full=True)`.
- Pages: `get_cached_result(ref_id, page=2, page_size=20)`.
- Larger preview: `get_cached_result(ref_id, max_size=100000)`.
- Another view: `get_cached_result(ref_id, preview_strategy="shape")` (or "sample", ...).
- Pass to tools: give the `ref_id` string (e.g. "calculator:1a2b3c4d5e6f7a8b") as any
  parameter's value; the tool reads the cached value server-side, even on another server
  that shares the cache, without it entering the conversation.
- Part of a value: append `#` and a JSON Pointer (RFC 6901) to the ref_id wherever a ref_id
  is accepted, e.g. "calculator:1a2b3c4d5e6f7a8b#/rows/0/id" (in a token, `~1` is `/` and
  `~0` is `~`; array indexes are 0, 1, ...). get_cached_result previews and pages that part;
  tools receive only that part.
- Refs are also resources: read `refcache://{ref_id}`, or a part,
  `refcache://{ref_id}#/json/pointer` (percent-encoded).

## Querying instead of paging
Look at the preview's shape first, then ask for what you need rather than paging through
everything, and page only the answer:
- `query_cached_result(ref_id, sql)` runs one SQLite SELECT over the value. A list of
  objects is the table `data` (a column per key; nested objects and lists are JSON text for
  `json_extract`); any other value is `data(value)` holding its JSON, e.g.
  `SELECT sum(j.value) FROM data, json_each(data.value) AS j`. Filter, aggregate and LIMIT
  in SQL; a large answer comes back as a ref_id with a preview (page it with page/page_size).
- `search_cached_result(ref_id, query)` finds text (best matches first, with snippets and the
  row index of each hit), e.g. `query="timeout OR refused"`.
On a ref you may only pass to tools (its value withheld from you), the answer is withheld
too: a new ref_id with `value_withheld`, which you can pass to tools, and it comes only after
the query's time limit has passed, whatever the query did.

## Preview size control
Per-call override beats the tool's setting, which beats the server default:
`get_cached_result(ref_id, max_size=...)`.

## Ref input compatibility
Every parameter of a cached tool accepts a ref_id in place of its data (the input schema says
so). A reference you may not access, or that expired, gives "Invalid or inaccessible
reference" -- the same answer whatever the reason.

References expire (one hour by default); call the tool again to recompute.)";
}

}  // namespace refcache::mcp
