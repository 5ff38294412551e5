// Refs as arguments of upstream tools. Any argument value (at any depth, not object keys) that
// is exactly a ref id ("calculator:0123abcd...") is replaced by the value it names; one written
// "REF#/json/pointer" (a ref path, refcache/ref_path.hpp) by the part of that value the JSON
// Pointer (RFC 6901) names. Resolution is the cache's own (refcache::resolve_refs): as the
// calling actor, with the same opaque error for a missing, expired or forbidden ref, the same
// cycle detection and input budget, and PartNotFound naming the failed token when a pointer
// names nothing in a value the caller may read.
// The caller must be allowed to use each ref: READ, or EXECUTE (use without seeing). A ref the
// caller may only EXECUTE reaches the upstream like any other, and is reported among the
// private inputs: the call is then a private computation (private_result.hpp), whose answer,
// messages and failures the caller never sees, since nothing stops the upstream from echoing
// what it received.
//
// When the upstream's schema says a top-level parameter is a string and its ref resolved to
// something else (a JSON text the gateway stored parsed), the parameter receives that JSON
// text as it was written (result_interception.hpp keeps it), or, when it is gone, the value's
// compact JSON; so the upstream's own validation still holds, and a copied file stays
// byte-identical.
//
// published_schema() is what the gateway lists for the tool: the upstream's schema with each
// top-level property widened to anyOf[its schema, a ref string], so clients validating against
// it accept refs; the upstream still receives values of its own schema.
//
// A ref of the gateway's own cache (its name before the ':') must resolve, or the call fails
// with the opaque error. A ref of another cache that this one cannot see (an upstream of ours
// with a cache of its own) reaches the upstream as written, for it to resolve.
//
// Thread-safety: pure functions over a thread-safe RefCache.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

#include "refcache/actor.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache/resolution.hpp"

namespace gateway {

// The JSON Schema of a ref argument: a ref id, optionally followed by '#' and a JSON Pointer.
boost::json::value ref_argument_schema();

// The upstream's input schema widened to accept refs (see above).
boost::json::value published_schema(const boost::json::value& upstream_schema);

// True when `args` holds a ref id or a "REF#/pointer" string anywhere.
bool has_ref_arguments(const boost::json::value& args);

// Arguments with their refs resolved, and where the values came from.
struct ResolvedArguments {
  boost::json::value args{};  // what the upstream receives
  // The refs the caller may only EXECUTE, one per occurrence; empty: the caller may read
  // every value it passed.
  std::vector<refcache::PrivateInput> private_inputs{};
  // The policies and namespaces of every ref used, so that a result is stored at least as
  // strictly as its inputs.
  std::vector<refcache::AccessPolicy> input_policies{};
  std::vector<std::string> input_namespaces{};
};

// `args` with every ref resolved as `actor` (READ or EXECUTE required). Throws
// refcache::InvalidReference (opaque, for a missing, expired or forbidden ref; PartNotFound for
// a pointer that names nothing in a value the caller may read), CircularReference or
// InvalidArgument (the budget of `limits` exceeded).
ResolvedArguments resolve_arguments(refcache::RefCache& cache, const boost::json::value& args,
                                    const refcache::Actor& actor,
                                    const refcache::InputLimits& limits,
                                    const boost::json::value& upstream_schema);

}  // namespace gateway
