// QuotaLedger: per-principal accounting of the entries a RefCache stored, for
// RefCacheOptions::quota. Private to the refcache library.
//
// For each principal (SetOptions::principal, an opaque key) it remembers the ref ids charged
// to it, oldest first, with their size in bytes, namespace and expiry, and decides which of
// that principal's own entries a new set must evict to fit (or that the set is refused). It
// never touches the store: RefCache removes the victims it names with Backend::remove, which
// emits the ordinary deleted events. Because it sits above the Backend it works the same over
// memory, SQLite and Redis, and the Backend interface knows nothing of it.
//
// A set is admitted (admit(): refused, or recorded as pending), stored by the caller, then
// settled (settle(): kept, or dropped if the store failed), and only then are victims chosen:
// the principal's oldest settled records, while its settled records exceed a limit. Choosing
// after the store has answered lets a set that replaced an entry of the same key (the backend
// deletes it) free its room first; counting settled records only means a set never evicts
// for another thread's set still in flight (that one's own settle() does), and a record in
// flight is never a victim (evicting an entry not stored yet would leave it in the store
// uncounted). So with T sets of one principal in flight, the store holds at most
// max_entries + T of its entries (each thread adds either its set in flight or the one
// victim it is removing), and max_entries once they have ended. kRefuse counts the sets in
// flight too, so it never lets the principal past its limits.
//
// Limits of the design, by intent:
//   - The accounting is per process. N server processes sharing one store bound a principal
//     at N times its quota, and entries stored before this process started (or by another
//     process) are not counted; they still expire by their TTL.
//   - An entry deleted by someone else is dropped when the ledger hears of it (forget(), from
//     RefCache::remove/clear and the backend's change events) or, at the latest, when it is
//     chosen as a victim and found missing. Until then it makes the principal's quota
//     smaller, never larger.
//
// Memory is bounded: a record whose entry has expired is dropped (the principal's own when a
// set finds one due, every principal's at each sweep, at most every sweep_interval seconds);
// a principal left with no record is dropped; and a principal never holds more records than
// max_entries plus its sets in flight.
//
// Thread-safety: every method may be called from any thread. One mutex guards the state, and
// no method calls out (no backend, no callback) while holding it.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "refcache/ref_cache.hpp"

namespace refcache {

// One entry charged to a principal.
struct QuotaRecord {
  std::string ref_id;
  std::string ns;
  std::uint64_t bytes = 0;
  double expires_at = 0;  // Unix seconds; +infinity for an entry that never expires
  bool pending = false;   // admitted, not yet settled
};

class QuotaLedger {
 public:
  struct Usage {
    std::size_t entries = 0;
    std::uint64_t bytes = 0;
  };

  // `sweep_interval`: seconds (of the `now` the callers pass) between sweeps of every
  // principal's expired records.
  explicit QuotaLedger(QuotaOptions options, double sweep_interval = 60);
  QuotaLedger(const QuotaLedger&) = delete;
  QuotaLedger& operator=(const QuotaLedger&) = delete;

  const QuotaOptions& options() const { return options_; }

  // Charges a set about to store `ref_id` (`bytes` bytes of value, in `ns`, expiring at
  // `expires_at`, +infinity for never) to `principal`, as pending until settle(). A record
  // already held for `ref_id` is replaced (a set under an existing ref id overwrites it).
  // Throws QuotaExceeded, charging nothing, when `bytes` > max_bytes, or, with kRefuse, when
  // the set would take the principal past a limit (its sets in flight count).
  // REQUIRES: !principal.empty().
  void admit(std::string_view principal, std::string_view ref_id, std::string_view ns,
             std::uint64_t bytes, double expires_at, double now);

  // The set admitted for `ref_id` has ended: `stored`, its record counts as settled (and may
  // be evicted from now on); otherwise its record is dropped. Returns the principal's oldest
  // settled records that must leave the store for it to be within its quota, already taken
  // out of the ledger: the caller removes them, or gives back those it could not with
  // restore().
  std::vector<QuotaRecord> settle(std::string_view principal, std::string_view ref_id, bool stored,
                                  double now);

  // Gives back victims the caller could not remove from the store: they count again, as the
  // principal's oldest, in their order.
  void restore(std::string_view principal, std::vector<QuotaRecord> victims);

  // The entry `ref_id` has left the store (deleted, expired, evicted elsewhere): its record,
  // if any, is dropped.
  void forget(std::string_view ref_id);
  // Every entry of exactly namespace `ns` (every entry when nullopt) has left the store.
  void forget_namespace(std::optional<std::string_view> ns);

  // Drops every expired record and every principal left without one.
  void sweep(double now);

  // What `principal` is charged with now (pending records included).
  Usage usage(std::string_view principal) const;
  std::size_t records() const;
  std::size_t principals() const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Principal {
    std::string name;
    std::list<QuotaRecord> records;   // oldest first
    std::uint64_t bytes = 0;          // of every record
    std::size_t pending = 0;          // records admitted and not settled yet
    std::uint64_t pending_bytes = 0;  // their bytes
    double next_expiry = 0;           // no record expires before this (+infinity: none expires)
  };
  struct Location {
    Principal* principal;
    std::list<QuotaRecord>::iterator record;
  };

  // The following REQUIRE mu_ held.
  Principal& principal_for(std::string_view name);
  void erase(Principal& p, std::list<QuotaRecord>::iterator it);
  void drop_if_empty(Principal& p);
  void prune(Principal& p, double now);
  bool over(const Principal& p) const;
  std::vector<QuotaRecord> take_victims(Principal& p);
  void sweep_locked(double now);
  void maybe_sweep(double now);

  const QuotaOptions options_;
  const double sweep_interval_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Principal, StringHash, std::equal_to<>> principals_;
  std::unordered_map<std::string, Location, StringHash, std::equal_to<>> by_ref_;
  double next_sweep_ = 0;
};

}  // namespace refcache
