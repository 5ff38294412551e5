#include "refcache/random.hpp"

#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>
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
  unsigned char b[8];
  random_bytes(b, sizeof b);
  // Sized once and written in place (a set makes one of these; push_back per digit cost
  // a capacity check each).
  std::string out(cache_name.size() + 17, ':');
  char* p = out.data();
  std::memcpy(p, cache_name.data(), cache_name.size());
  p += cache_name.size() + 1;  // past the ':'
  for (unsigned char c : b) {
    *p++ = kHex[c >> 4];
    *p++ = kHex[c & 0xF];
  }
  return out;
}

}  // namespace refcache
