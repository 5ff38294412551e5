// Ref resolution over arbitrary JSON: every string shaped like a ref id is looked up and
// replaced, recursively, as a given actor. The cache holds a fixed set of entries (nested
// refs, a two-entry cycle, a self cycle, a chain deeper than max_depth, EXECUTE-only,
// user-only and session-bound values); the input JSON may name them, or anything else.
// Failures must be the documented opaque errors, never a crash, a hang or a leak of which refs
// exist.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "fuzz_util.hpp"
#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache/ref_id.hpp"
#include "refcache/resolution.hpp"

namespace {

namespace bj = boost::json;

std::string rid(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "fz:%016x", n);
  return buf;
}

double fixed_now() {
  return 1.7e9;
}

refcache::RefCache& cache() {
  static refcache::RefCache* c = [] {
    refcache::RefCacheOptions o;
    o.name = "fz";
    o.clock = &fixed_now;
    o.default_ttl = refcache::kNoExpiry;
    auto* rc = new refcache::RefCache(std::move(o));
    auto put = [&](int n, bj::value v, refcache::AccessPolicy pol = {}, std::string ns = "public") {
      refcache::SetOptions so;
      so.ref_id = rid(n);
      so.policy = pol;
      so.ns = std::move(ns);
      rc->set("", std::move(v), so);
    };
    put(1, bj::object{{"a", 1}, {"b", rid(2)}, {rid(3), "keys are not resolved"}});
    put(2, bj::array{1, 2.5, rid(3), "text " + rid(1)});
    put(3, "secret", refcache::AccessPolicy::execute_only());
    put(4, bj::string(rid(5)));
    put(5, bj::array{rid(4)});
    put(6, bj::object{{"user", "only"}}, refcache::AccessPolicy::user_only());
    put(7, bj::string(rid(7)));
    refcache::AccessPolicy bound;
    bound.bound_session = "s1";
    put(8, "bound", bound);
    for (int i = 16; i < 16 + 40; ++i) put(i, bj::array{i, rid(i + 1)});  // 56 is missing
    refcache::AccessPolicy owned;
    owned.owner = "user:alice";
    owned.user_permissions = refcache::Permission::kNone;
    owned.agent_permissions = refcache::Permission::kNone;
    put(9, bj::object{{"owner", "alice"}}, owned, "user:alice");
    put(10, bj::string(std::string(3000, 'x')));
    return rc;
  }();
  return *c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  refcache::RefCache& rc = cache();
  std::uint8_t a = data[0], b = data[1];
  std::string_view text = as_view(data + 2, size - 2);
  // parse_ref_id agrees with is_ref_id, and its parts are the text it parsed.
  if (auto parts = refcache::parse_ref_id(text)) {
    FUZZ_CHECK(refcache::is_ref_id(text), "parsed but not a ref id");
    FUZZ_CHECK(parts->cache_name.data() == text.data() &&
                   parts->cache_name.size() + 1 + parts->hex.size() == text.size(),
               "parts are not the text");
  } else {
    FUZZ_CHECK(!refcache::is_ref_id(text), "a ref id that does not parse");
  }

  std::error_code ec;
  bj::value input = jsonio::parse(text, ec);
  if (ec) input = bj::string(text);

  std::optional<std::string> session;
  if (a & 0x04) session = (a & 0x08) ? "s1" : "s2";
  refcache::Actor actor;
  switch (a & 0x03) {
    case 0:
      actor = refcache::Actor::agent(std::nullopt, session);
      break;
    case 1:
      actor = refcache::Actor::user(std::nullopt, session);
      break;
    case 2:
      actor = refcache::Actor::user(std::string("alice"), session);
      break;
    default:
      actor = refcache::Actor::system();
  }
  refcache::ResolutionOptions opt;
  opt.allow_execute = (a & 0x10) != 0;
  opt.fail_on_missing = (a & 0x20) != 0;
  opt.limits.max_refs = (a & 0x40) ? (b & 0x0F) : 10000;
  opt.limits.max_depth = (a & 0x80) ? (b >> 4) : 32;

  try {
    refcache::ResolutionResult r = refcache::resolve_refs(rc, input, actor, opt);
    FUZZ_CHECK(r.resolved_refs.size() <= opt.limits.max_refs, "max_refs bounds the refs resolved");
    FUZZ_CHECK(opt.fail_on_missing ? r.failed_refs.empty() : true,
               "failed_refs only when fail_on_missing is false");
    (void)jsonio::measure(r.value);
  } catch (const refcache::InvalidReference&) {
  } catch (const refcache::CircularReference&) {
  } catch (const refcache::InvalidArgument& e) {
    // A budget breach: the message names the limit and never a value.
    FUZZ_CHECK(std::string_view(e.what()).find("secret") == std::string_view::npos,
               "budget errors never echo a value");
  }
  return 0;
}
