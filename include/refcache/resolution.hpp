// Ref resolution inside JSON inputs: every string that is exactly a ref id
// (^[a-zA-Z][a-zA-Z0-9_-]*:[a-f0-9]{8,}$; a trailing newline does not match) is replaced by
// the value it names, recursively (a resolved value may itself hold refs), with cycle
// detection. Object keys are never resolved; substrings of longer strings are left alone.
//
// Every failure -- missing, expired, forbidden -- gives the same InvalidReference text, so a
// caller cannot probe which refs exist.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "refcache/access_policy.hpp"
#include "refcache/actor.hpp"

namespace refcache {

class RefCache;

// True when `s` has the shape of a ref id.
bool is_ref_id(std::string_view s);

// True when some string inside `v` (not an object key) has the shape of a ref id, that is,
// when resolve_refs() could change it. Reads without copying.
bool contains_ref_ids(const boost::json::value& v);
bool contains_ref_ids(const boost::json::object& obj);

struct ResolutionOptions {
  // Resolution for a computation accepts READ or EXECUTE (EXECUTE = use without seeing).
  // Set false to require READ (the caller will see the value).
  bool allow_execute = true;
  bool fail_on_missing = true;   // false: leave unresolvable refs in place and record them
  std::size_t max_refs = 10000;  // bound on refs resolved in one input
  std::size_t max_depth = 32;    // bound on refs nested inside resolved values
};

struct ResolutionResult {
  boost::json::value value;
  std::vector<std::string> resolved_refs;  // one per occurrence
  std::vector<std::string> failed_refs;    // only when fail_on_missing is false
  // True when at least one ref was usable only through EXECUTE: the value reached the
  // computation, but the caller may not see it, nor anything derived from it.
  bool used_execute_only = false;
  // The policies of the refs used, for storing derived results at least as strictly.
  std::vector<AccessPolicy> input_policies;
  std::vector<std::string> input_namespaces;
};

// Resolves refs in `input` as `actor`. Throws InvalidReference (opaque) or CircularReference.
ResolutionResult resolve_refs(RefCache& cache, const boost::json::value& input, const Actor& actor,
                              const ResolutionOptions& options = {});

}  // namespace refcache
