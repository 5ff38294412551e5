// MemoryBackend as a state machine: a fresh backend per input (small bounds and a small hot
// set, so that eviction and hot-set trimming happen within a few operations), then a sequence
// of operations decoded from the input -- set (with or without a key binding, expiring or not),
// get, remove, exists, clear (all or one namespace), list pages, find_by_key, claims, tasks --
// with a fake clock that operations advance. Checked: what was just set (unbounded store, not
// expired) reads back equal; nothing reads back after remove or clear.
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_util.hpp"
#include "refcache/memory_backend.hpp"

namespace {

double g_now = 1000.0;
double fake_now() {
  return g_now;
}

// Input: byte 0 = options; then operations of 2 bytes (op, k), a set taking a third (length).
// Reads the input front to back (so that hand-written inputs mean what they say); 0 past the end.
struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint8_t next() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
};

std::string id_of(std::uint8_t k) {
  return "fz:" + std::string(15, '0') + "0123456789abcdef"[k & 15];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader p{data, size};
  g_now = 1000.0;
  refcache::MemoryBackendOptions o;
  o.clock = &fake_now;
  std::uint8_t cfg = p.next();
  o.max_entries = cfg & 0x07;           // 0 = unbounded
  o.max_bytes = (cfg & 0x08) ? 64 : 0;  // tiny byte bound
  o.freeze_values = (cfg & 0x10) == 0;
  o.hot_entries = 1 + ((cfg >> 5) & 0x03);  // 1..4
  o.hot_bytes = (cfg & 0x80) ? 16 : (64u << 20);
  bool unbounded = o.max_entries == 0 && o.max_bytes == 0;
  refcache::MemoryBackend b(o);
  const char* nss[] = {"public", "session:s1", "user:alice"};

  for (int step = 0; step < 256 && p.n > 0; ++step) {
    std::uint8_t op = p.next();
    std::uint8_t k = p.next();
    std::string id = id_of(k);
    switch (op % 12) {
      case 0:
      case 1: {  // set
        auto e = std::make_shared<refcache::CacheEntry>();
        std::size_t n = static_cast<std::size_t>(p.next() % 41);
        if (k & 0x10) {
          e->value = boost::json::string(std::string(n, 'v'));
        } else {
          boost::json::array a;
          for (std::size_t i = 0; i < n; ++i) a.emplace_back(static_cast<std::int64_t>(i));
          e->value = std::move(a);
        }
        e->ns = nss[(k >> 5) % 3];
        e->created_at = g_now;
        if (k & 0x80) e->expires_at = g_now + (op & 0x30) / 16;
        e->metadata["n"] = static_cast<std::int64_t>(n);
        boost::json::value expected = e->value;
        refcache::KeyBinding bind{e->ns, std::string(1, static_cast<char>('a' + (op >> 4) % 4))};
        (void)b.set(id, e, (op & 0x40) ? &bind : nullptr);
        if (unbounded && !e->expires_at) {
          auto got = b.get(id);
          FUZZ_CHECK(got && got->value == expected, "a set entry reads back");
        }
        break;
      }
      case 2:
        (void)b.get(id);
        break;
      case 3:
        (void)b.remove(id);
        FUZZ_CHECK(!b.get(id), "nothing reads back after remove");
        break;
      case 4:
        (void)b.exists(id);
        break;
      case 5:
        if (k & 1) {
          (void)b.clear(std::nullopt);
          FUZZ_CHECK(b.list(std::nullopt, "", 10).ref_ids.empty(), "clear() empties the store");
        } else {
          (void)b.clear(std::string_view(nss[(k >> 1) % 3]));
        }
        break;
      case 6: {
        std::string cursor;
        for (int i = 0; i < 20; ++i) {
          auto page = (k & 1) ? b.list(std::nullopt, cursor, 1 + (k >> 4))
                              : b.list(std::string_view(nss[(k >> 1) % 3]), cursor, 1 + (k >> 4));
          if (page.next_cursor.empty()) break;
          cursor = page.next_cursor;
        }
        break;
      }
      case 7:
        (void)b.find_by_key(nss[(k >> 5) % 3], std::string(1, static_cast<char>('a' + k % 4)));
        break;
      case 8:
        (void)b.try_claim(id, (k & 1) ? "w1" : "w2", std::chrono::milliseconds(1000 * (op >> 4)));
        (void)b.claim_holder(id);
        break;
      case 9:
        b.release_claim(id, (k & 1) ? "w1" : "w2");
        break;
      case 10:
        g_now += (k & 0x0F) * 0.5;  // time passes; entries and claims expire
        break;
      default: {
        (void)b.stats();
        (void)b.keys();
        break;
      }
    }
  }
  return 0;
}
