#include "refcache/random.hpp"

#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>
#include <bit>
#include <cstring>
#include <stdexcept>

namespace refcache {

namespace {

// Incremented in every forked child; a thread's buffer from an older generation is refilled.
std::atomic<std::uint64_t> g_fork_generation{0};

void on_fork_child() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

struct ForkHook {
  ForkHook() { pthread_atfork(nullptr, nullptr, &on_fork_child); }
};
ForkHook g_fork_hook;

struct RandomBuffer {
  static constexpr std::size_t kSize = 4096;
  unsigned char bytes[kSize];
  std::size_t pos = kSize;
  std::uint64_t generation = ~0ull;

  void take(unsigned char* out, std::size_t n) {
    std::uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
    if (gen != generation) {
      pos = kSize;
      generation = gen;
    }
    while (n > 0) {
      if (pos == kSize) {
        if (RAND_bytes(bytes, static_cast<int>(kSize)) != 1)
          throw std::runtime_error("CSPRNG failure (RAND_bytes)");
        pos = 0;
      }
      std::size_t k = std::min(n, kSize - pos);
      std::memcpy(out, bytes + pos, k);
      // Never hand out the same bytes twice.
      std::memset(bytes + pos, 0, k);
      pos += k;
      out += k;
      n -= k;
    }
  }
};

thread_local RandomBuffer t_buffer;

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void random_bytes(void* out, std::size_t n) {
  t_buffer.take(static_cast<unsigned char*>(out), n);
}

std::uint64_t random_u64() {
  std::uint64_t v;
  random_bytes(&v, sizeof v);
  return v;
}

std::string random_hex(std::size_t n) {
  std::string out(2 * n, '0');
  unsigned char buf[64];
  std::size_t done = 0;
  while (done < n) {
    std::size_t k = std::min(n - done, sizeof buf);
    random_bytes(buf, k);
    for (std::size_t i = 0; i < k; ++i) {
      out[2 * (done + i)] = kHex[buf[i] >> 4];
      out[2 * (done + i) + 1] = kHex[buf[i] & 0xF];
    }
    done += k;
  }
  return out;
}

std::string make_ref_id(std::string_view cache_name) {
  return format_ref_id(cache_name, random_u64());
}

std::string format_ref_id(std::string_view cache_name, std::uint64_t bits) {
  // Sized once and written in place (a set makes one of these; push_back per digit cost
  // a capacity check each). Most significant digit first.
  std::string out(cache_name.size() + 17, ':');
  char* p = out.data();
  std::memcpy(p, cache_name.data(), cache_name.size());
  p += cache_name.size() + 1;  // past the ':'
  for (int shift = 60; shift >= 0; shift -= 4) *p++ = kHex[(bits >> shift) & 0xF];
  return out;
}

namespace {

// Eight lowercase hex digits (the first in the lowest byte, as loaded from memory on a
// little-endian machine) to their 32-bit value, or nullopt if any byte is not one of
// 0-9a-f. Eight bytes at a time (the memory backend reads the number of every id it is
// asked for: a loop per digit was 5% of a set).
std::optional<std::uint32_t> hex8(std::uint64_t x) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x80 * kOnes;
  if (x & kHigh) return std::nullopt;
  // For a byte b < 0x80, b + (0x80 - lo) has its top bit set iff b >= lo (no carry leaves
  // the byte).
  auto at_least = [x](unsigned lo) { return (x + (0x80 - lo) * kOnes) & kHigh; };
  const std::uint64_t digit = at_least('0') & ~at_least('9' + 1);
  const std::uint64_t letter = at_least('a') & ~at_least('f' + 1);
  if ((digit | letter) != kHigh) return std::nullopt;
  // '0'-'9' -> 0-9 (low nibble); 'a'-'f' -> 1-6 + 9 (bit 6 marks a letter).
  std::uint64_t d = (x & 0x0F * kOnes) + ((x >> 6) & kOnes) * 9;
  // Most significant digit first: byte-swap, then pack nibble pairs, byte pairs, halves.
  d = __builtin_bswap64(d);
  d = (d | (d >> 4)) & 0x00FF00FF00FF00FFull;
  d = (d | (d >> 8)) & 0x0000FFFF0000FFFFull;
  d = (d | (d >> 16)) & 0xFFFFFFFFull;
  return static_cast<std::uint32_t>(d);
}

}  // namespace

std::optional<std::uint64_t> ref_id_bits(std::string_view ref_id) {
  static_assert(std::endian::native == std::endian::little, "hex8 reads little-endian words");
  if (ref_id.size() < 17 || ref_id[ref_id.size() - 17] != ':') return std::nullopt;
  std::uint64_t words[2];
  std::memcpy(words, ref_id.data() + ref_id.size() - 16, 16);
  const auto hi = hex8(words[0]);
  const auto lo = hex8(words[1]);
  if (!hi || !lo) return std::nullopt;
  return std::uint64_t{*hi} << 32 | *lo;
}

}  // namespace refcache
