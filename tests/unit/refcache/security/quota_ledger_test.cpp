// QuotaLedger: which records a set evicts, refusals, pending sets, and the ledger's own
// memory (expired records and empty principals dropped).
#include "refcache/quota_ledger.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

using namespace refcache;

namespace {

constexpr double kNow = 1'700'000'000.0;
constexpr double kNever = std::numeric_limits<double>::infinity();

QuotaOptions limits(std::size_t entries, std::size_t bytes,
                    QuotaOverflow mode = QuotaOverflow::kEvictOldest) {
  QuotaOptions o;
  o.max_entries = entries;
  o.max_bytes = bytes;
  o.on_exceed = mode;
  return o;
}

// admit + settle(stored): the victims the set leaves the caller to remove.
std::vector<std::string> put(QuotaLedger& l, const std::string& who, const std::string& ref,
                             std::uint64_t bytes = 10, double expires_at = kNever,
                             double now = kNow) {
  l.admit(who, ref, "public", bytes, expires_at, now);
  std::vector<std::string> ids;
  for (auto& v : l.settle(who, ref, true, now)) ids.push_back(v.ref_id);
  return ids;
}

using Ids = std::vector<std::string>;

}  // namespace

TEST(QuotaLedger, EvictsThePrincipalsOldestFirst) {
  QuotaLedger l(limits(3, 0));
  EXPECT_EQ(put(l, "user:alice", "a1"), Ids{});
  EXPECT_EQ(put(l, "user:alice", "a2"), Ids{});
  EXPECT_EQ(put(l, "user:alice", "a3"), Ids{});
  EXPECT_EQ(put(l, "user:alice", "a4"), Ids{"a1"});
  EXPECT_EQ(put(l, "user:alice", "a5"), Ids{"a2"});
  EXPECT_EQ(l.usage("user:alice").entries, 3u);
  EXPECT_EQ(l.records(), 3u);
}

TEST(QuotaLedger, NeverEvictsAnotherPrincipalsRecords) {
  QuotaLedger l(limits(2, 0));
  put(l, "user:bob", "b1");
  put(l, "user:bob", "b2");
  for (int i = 0; i < 50; ++i) {
    for (const auto& victim : put(l, "user:alice", "a" + std::to_string(i)))
      EXPECT_EQ(victim.rfind("a", 0), 0u) << victim;
  }
  EXPECT_EQ(l.usage("user:bob").entries, 2u);
  EXPECT_EQ(l.usage("user:alice").entries, 2u);
}

TEST(QuotaLedger, BytesEvictUntilTheNewValueFits) {
  QuotaLedger l(limits(0, 100));
  put(l, "p", "r1", 40);
  put(l, "p", "r2", 40);
  EXPECT_EQ(put(l, "p", "r3", 40), Ids{"r1"});          // 120 > 100: the oldest goes
  EXPECT_EQ(put(l, "p", "r4", 90), (Ids{"r2", "r3"}));  // only r4 fits beside nothing
  EXPECT_EQ(l.usage("p").bytes, 90u);
}

TEST(QuotaLedger, AValueLargerThanTheQuotaIsRefusedWithTheLimitNamed) {
  QuotaLedger l(limits(10, 100));
  put(l, "p", "r1", 50);
  try {
    l.admit("p", "big", "public", 101, kNever, kNow);
    FAIL() << "admitted a value larger than max_bytes";
  } catch (const QuotaExceeded& e) {
    EXPECT_NE(std::string(e.what()).find("101 bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("100 bytes per principal (quota.max_bytes)"),
              std::string::npos)
        << e.what();
  }
  // Nothing was charged, nothing evicted.
  EXPECT_EQ(l.usage("p").entries, 1u);
  EXPECT_EQ(l.usage("p").bytes, 50u);
}

TEST(QuotaLedger, RefuseModeRefusesInsteadOfEvicting) {
  QuotaLedger l(limits(2, 0, QuotaOverflow::kRefuse));
  put(l, "p", "r1");
  put(l, "p", "r2");
  EXPECT_THROW(l.admit("p", "r3", "public", 10, kNever, kNow), QuotaExceeded);
  EXPECT_EQ(l.usage("p").entries, 2u);
  // Overwriting one of its own ref ids does not need room.
  EXPECT_NO_THROW(put(l, "p", "r2", 20));
  EXPECT_EQ(l.usage("p").entries, 2u);
  EXPECT_EQ(l.usage("p").bytes, 30u);
  // Room made by a delete is room again.
  l.forget("r1");
  EXPECT_NO_THROW(put(l, "p", "r3"));
}

TEST(QuotaLedger, SetsInFlightAreNeverVictimsAndEachSettleEvictsForItself) {
  QuotaLedger l(limits(2, 0));
  put(l, "p", "r1");
  put(l, "p", "r2");
  // Two sets in flight at once (two threads between admit and settle).
  l.admit("p", "x", "public", 10, kNever, kNow);
  l.admit("p", "y", "public", 10, kNever, kNow);
  EXPECT_EQ(l.usage("p").entries, 4u);
  std::vector<std::string> victims;
  for (auto& v : l.settle("p", "x", true, kNow)) victims.push_back(v.ref_id);
  EXPECT_EQ(victims, Ids{"r1"});  // room for x; y makes its own when it ends
  victims.clear();
  for (auto& v : l.settle("p", "y", true, kNow)) victims.push_back(v.ref_id);
  EXPECT_EQ(victims, Ids{"r2"});
  EXPECT_EQ(l.usage("p").entries, 2u);
}

TEST(QuotaLedger, RefuseModeCountsSetsInFlight) {
  QuotaLedger l(limits(2, 0, QuotaOverflow::kRefuse));
  put(l, "p", "r1");
  l.admit("p", "x", "public", 10, kNever, kNow);
  EXPECT_THROW(l.admit("p", "y", "public", 10, kNever, kNow), QuotaExceeded);
}

TEST(QuotaLedger, AFailedSetIsNotCharged) {
  QuotaLedger l(limits(2, 0));
  put(l, "p", "r1");
  l.admit("p", "r2", "public", 10, kNever, kNow);
  EXPECT_TRUE(l.settle("p", "r2", false, kNow).empty());
  EXPECT_EQ(l.usage("p").entries, 1u);
}

TEST(QuotaLedger, RestoredVictimsCountAgainAsTheOldest) {
  QuotaLedger l(limits(2, 0));
  put(l, "p", "r1");
  put(l, "p", "r2");
  l.admit("p", "r3", "public", 10, kNever, kNow);
  auto victims = l.settle("p", "r3", true, kNow);
  ASSERT_EQ(victims.size(), 1u);
  l.restore("p", std::move(victims));  // the store could not remove r1
  EXPECT_EQ(l.usage("p").entries, 3u);
  EXPECT_EQ(put(l, "p", "r4"), (Ids{"r1", "r2"}));
}

TEST(QuotaLedger, ForgottenEntriesStopCounting) {
  QuotaLedger l(limits(3, 0));
  put(l, "p", "r1");
  put(l, "p", "r2");
  put(l, "p", "r3");
  l.forget("r2");                       // deleted by someone else
  EXPECT_EQ(put(l, "p", "r4"), Ids{});  // room for it without evicting
  l.forget("unknown");                  // harmless
  EXPECT_EQ(l.usage("p").entries, 3u);
}

TEST(QuotaLedger, ClearedNamespacesStopCounting) {
  QuotaLedger l(limits(10, 0));
  l.admit("p", "a", "ns1", 10, kNever, kNow);
  l.settle("p", "a", true, kNow);
  l.admit("p", "b", "ns2", 10, kNever, kNow);
  l.settle("p", "b", true, kNow);
  l.admit("q", "c", "ns1", 10, kNever, kNow);
  l.settle("q", "c", true, kNow);
  l.forget_namespace("ns1");
  EXPECT_EQ(l.usage("p").entries, 1u);
  EXPECT_EQ(l.principals(), 1u);  // q has nothing left
  l.forget_namespace(std::nullopt);
  EXPECT_EQ(l.records(), 0u);
  EXPECT_EQ(l.principals(), 0u);
}

TEST(QuotaLedger, ReSettingARefIdCountsItOnce) {
  QuotaLedger l(limits(10, 0));
  put(l, "p", "r1", 10);
  put(l, "p", "r1", 30);
  EXPECT_EQ(l.usage("p").entries, 1u);
  EXPECT_EQ(l.usage("p").bytes, 30u);
  put(l, "q", "r1", 5);  // another principal overwrote it: charged to q now
  EXPECT_EQ(l.usage("p").entries, 0u);
  EXPECT_EQ(l.usage("q").entries, 1u);
}

TEST(QuotaLedger, ExpiredRecordsAndEmptyPrincipalsAreDropped) {
  QuotaLedger l(limits(100, 0), /*sweep_interval=*/60);
  // 50 principals with one short-lived entry each, one principal with a lasting one.
  for (int i = 0; i < 50; ++i)
    put(l, "session:" + std::to_string(i), "s" + std::to_string(i), 10, kNow + 10);
  put(l, "user:alice", "a1", 10, kNow + 5);
  put(l, "user:alice", "a2", 10, kNever);
  EXPECT_EQ(l.records(), 52u);
  EXPECT_EQ(l.principals(), 51u);
  // A principal's own expired records go when it next sets.
  put(l, "user:alice", "a3", 10, kNever, kNow + 6);
  EXPECT_EQ(l.usage("user:alice").entries, 2u);
  // Everyone's go at the next sweep (here: the first set past the sweep interval).
  put(l, "user:alice", "a4", 10, kNever, kNow + 61);
  EXPECT_EQ(l.records(), 3u);
  EXPECT_EQ(l.principals(), 1u);
  // Expiry is inclusive, as on the read paths.
  put(l, "user:bob", "b1", 10, kNow + 200, kNow + 100);
  l.sweep(kNow + 200);
  EXPECT_EQ(l.usage("user:bob").entries, 0u);
  EXPECT_EQ(l.principals(), 1u);
}

TEST(QuotaLedger, APrincipalNeverHoldsMoreRecordsThanItsQuota) {
  QuotaLedger l(limits(5, 0));
  for (int i = 0; i < 1000; ++i) {
    put(l, "peer:127.0.0.1", "r" + std::to_string(i));
    ASSERT_LE(l.records(), 5u);
  }
}
