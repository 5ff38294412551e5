// Ref resolution inside JSON inputs: every string that is exactly a ref id (is_ref_id(),
// refcache/ref_id.hpp; a trailing newline does not match) is replaced by the value it names,
// and every string that is exactly a ref path ("<ref_id>#<JSON Pointer>", ref_path.hpp) by the
// part of that value the pointer names; recursively (a resolved value or part may itself hold
// refs), with cycle detection. The pointer applies to the value as stored: refs inside the
// selected part are resolved after it is selected, so a pointer does not reach into a value
// that a nested ref names. Object keys are never resolved; substrings of longer strings, and
// strings holding '#' that are not a ref id followed by a valid pointer, are left alone.
//
// A part is used under its whole ref's permissions (READ, or EXECUTE for a computation, which
// uses it without seeing it). Every failure -- missing, expired, forbidden, or a pointer that
// names nothing in a value the caller may only use -- gives the same InvalidReference text,
// naming the string as written, so a caller cannot probe which refs exist or how a value is
// shaped. Only a caller who may READ the value learns which token of a pointer names nothing
// (PartNotFound, a kind of InvalidReference).
#pragma once

#include <atomic>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "refcache/access_policy.hpp"
#include "refcache/actor.hpp"
#include "refcache/entry.hpp"
#include "refcache/ref_id.hpp"
#include "refcache/ref_path.hpp"

namespace refcache {

class RefCache;

// True when some string inside `v` (not an object key) has the shape of a ref id or a ref
// path, that is, when resolve_refs() could change it. Reads without copying.
bool contains_ref_ids(const boost::json::value& v);
bool contains_ref_ids(const boost::json::object& obj);

// The budget of one input. A short request can name large values many times over, so what
// refs expand to is bounded, not only how many there are. Each breach throws InvalidArgument
// naming the limit (never a value).
struct InputLimits {
  std::size_t max_refs = 10000;  // ref occurrences resolved
  std::size_t max_depth = 32;    // refs nested inside resolved values
  // Items of the resolved values, summed: a list's elements, an object's members, 1 for a
  // scalar.
  std::size_t max_items = 1000000;
  // Compact JSON bytes of the resolved values, summed (64 MiB).
  std::size_t max_bytes = std::size_t{64} << 20;
};

struct ResolutionOptions {
  // Resolution for a computation accepts READ or EXECUTE (EXECUTE = use without seeing).
  // Set false to require READ (the caller will see the value).
  bool allow_execute = true;
  bool fail_on_missing = true;  // false: leave unresolvable refs in place and record them
  InputLimits limits{};
  // When the input is an object: only refs inside these top-level members are resolved
  // (others stay as written); empty = every member.
  std::vector<std::string> only_members{};
  // Polled before each ref; when it reads true, resolution stops with Cancelled.
  const std::atomic<bool>* cancel = nullptr;
  // False: nothing is copied (ResolutionResult::value stays null) and everything else is
  // checked and recorded as usual, with the entries read. What a cache hit needs, which is
  // the key of a call, costs no copy of a large value.
  bool build_value = true;
  // The entries to resolve with, one per ref looked up, in order, instead of reading them
  // from the cache: ResolutionResult::entries of an earlier resolution of the same input as
  // the same actor, so that the value built is the one that resolution checked and keyed.
  const std::vector<EntryPtr>* entries = nullptr;
};

// A ref the caller may use but not read (EXECUTE without READ), as it occurred in the input.
struct PrivateInput {
  std::string ref_id{};  // as written: a ref id, or a ref path naming part of its value
  // The top-level member of the input object the ref sits in ("" if the input is no object).
  std::string parameter{};
  // True when the ref is that member's whole value, not nested inside other data.
  bool whole_parameter = false;
  // True when the value was itself computed from private inputs (entry metadata
  // kDerivedFromPrivate), or holds refs of its own: it is not an original value.
  bool derived = false;
  // Items of the value (or of the part a ref path names): a list's elements, an object's
  // members; 1 for a scalar.
  std::size_t items = 0;
};

// Entry metadata member that marks a value computed from private inputs.
inline constexpr std::string_view kDerivedFromPrivate = "derived_from_private";

struct ResolutionResult {
  boost::json::value value{};
  // One per occurrence, as written (a ref id, or a ref path).
  std::vector<std::string> resolved_refs{};
  // One per resolved_refs entry, in the same order: the version of the stored value the
  // occurrence was resolved from (see ref_version()).
  std::vector<std::string> resolved_versions{};
  // As written; only when fail_on_missing is false. A ref path whose pointer names nothing
  // in a value the caller may READ is no failure to record: PartNotFound is thrown.
  std::vector<std::string> failed_refs{};
  // True when at least one ref was usable only through EXECUTE: the value reached the
  // computation, but the caller may not see it, nor anything derived from it.
  bool used_execute_only = false;
  // Those refs, one per occurrence (refs resolved inside a private value count as private).
  std::vector<PrivateInput> private_inputs{};
  // The policies and namespaces of every ref used, for storing derived results at least as
  // strictly as their inputs.
  std::vector<AccessPolicy> input_policies{};
  std::vector<std::string> input_namespaces{};
  // One per ref looked up, in order: the entry read (null when missing or not usable).
  std::vector<EntryPtr> entries{};
  // Compact JSON bytes of the resolved values, summed (what InputLimits::max_bytes bounds).
  std::size_t bytes = 0;
};

// What identifies the value an occurrence of a ref resolves to, without its content: whether
// it was used as a private input ('x': through EXECUTE only, or inside such a value) or read
// ('r'), then the entry's created_at (every write of an entry stamps it, and entries are
// immutable once stored) with the size counts RefCache::set measured (total_size,
// total_chars, total_items). Two resolutions of the same occurrence with equal versions give
// the same value, unless the entry was rewritten under the same ref id at the same clock
// reading with values of equal sizes. An entry lacking created_at or total_size (written by
// another program) is versioned by a SHA-256 of the canonical JSON of `part` when read, and
// by nothing ("x -") when private, so that a private value never enters a key.
std::string ref_version(const CacheEntry& entry, const boost::json::value& part, bool execute_only);

// Resolves refs in `input` as `actor`. Throws InvalidReference (opaque; PartNotFound for a
// readable value's pointer that names nothing), CircularReference,
// InvalidArgument (a budget of `options` exceeded) or Cancelled.
ResolutionResult resolve_refs(RefCache& cache, const boost::json::value& input, const Actor& actor,
                              const ResolutionOptions& options = {});

}  // namespace refcache
