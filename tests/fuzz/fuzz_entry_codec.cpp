// Redis blob and SQLite row decoding: stored records written by anyone (another server, the
// Python reference, a corrupted file) must decode or throw CorruptEntry, never crash; and what
// decodes must survive encode -> decode unchanged.
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "jsonio/json_text.hpp"
#include "refcache/entry_codec.hpp"
#include "refcache/errors.hpp"

namespace {

void check_same(const refcache::CacheEntry& a, const refcache::CacheEntry& b) {
  FUZZ_CHECK(a.value == b.value, "value round-trips");
  FUZZ_CHECK(a.ns == b.ns, "namespace round-trips");
  FUZZ_CHECK(a.policy == b.policy, "policy round-trips");
  FUZZ_CHECK(a.created_at == b.created_at, "created_at round-trips");
  FUZZ_CHECK(a.expires_at == b.expires_at, "expires_at round-trips");
  FUZZ_CHECK(a.standard == b.standard, "standard metadata round-trips");
  FUZZ_CHECK(a.metadata == b.metadata, "metadata round-trips");
}

void round_trip(const refcache::CacheEntry& e) {
  // Non-finite times cannot be stored in JSON; the codec writes them as null.
  refcache::CacheEntry b = refcache::decode_entry_blob("fuzz:0", refcache::encode_entry_blob(e));
  check_same(e, b);
  refcache::CacheEntry r = refcache::decode_entry_row("fuzz:0", refcache::encode_entry_row(e));
  check_same(e, r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view in = as_view(data + 1, size - 1);
  if ((data[0] & 1) == 0) {
    // The whole input is a Redis blob.
    try {
      round_trip(refcache::decode_entry_blob("fuzz:blob", in));
    } catch (const refcache::CorruptEntry&) {
    }
    return 0;
  }
  // A SQLite row: fields separated by 0x00 -- value_json, namespace, policy_json,
  // metadata_json; created_at and expires_at from the first byte's bits.
  std::vector<std::string> f;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= in.size() && f.size() < 4; ++i)
    if (i == in.size() || in[i] == '\0') {
      f.emplace_back(in.substr(start, i - start));
      start = i + 1;
    }
  while (f.size() < 4) f.emplace_back();
  refcache::EntryRow row;
  row.value_json = f[0];
  row.ns = f[1];
  row.policy_json = f[2];
  row.metadata_json = f[3];
  row.created_at = (data[0] & 2) ? 1.5e9 : 0.0;
  if (data[0] & 4) row.expires_at = (data[0] & 8) ? 1.7e9 : -1.0;
  try {
    round_trip(refcache::decode_entry_row("fuzz:row", row));
  } catch (const refcache::CorruptEntry&) {
  }
  return 0;
}
