#include "refcache/random.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace refcache {

namespace {

// Fills `out` from getrandom(2): blocks only until the kernel's pool is first initialised,
// at boot. A read of more than 256 bytes may be cut short by a signal; the rest is read again.
void fill_from_kernel(unsigned char* out, std::size_t n) {
  while (n > 0) {
    const ssize_t got = getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("CSPRNG failure: getrandom: " +
                               std::generic_category().message(errno));
    }
    out += got;
    n -= static_cast<std::size_t>(got);
  }
}

// Incremented in every forked child; a buffer filled in an older generation is discarded.
std::atomic<std::uint64_t> g_fork_generation{0};

void on_fork_child() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

struct ForkHook {
  ForkHook() { pthread_atfork(nullptr, nullptr, &on_fork_child); }
};
const ForkHook g_fork_hook;

// One system call per 4 KiB: 512 ref ids.
struct RandomBuffer {
  static constexpr std::size_t kSize = 4096;
  unsigned char bytes[kSize];
  std::size_t pos = kSize;  // bytes[pos, kSize) are unused
  std::uint64_t generation = ~std::uint64_t{0};

  void take(unsigned char* out, std::size_t n) {
    const std::uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
    if (gen != generation) {
      std::memset(bytes, 0, kSize);
      pos = kSize;
      generation = gen;
    }
    while (n > 0) {
      if (pos == kSize) {
        fill_from_kernel(bytes, kSize);
        pos = 0;
      }
      const std::size_t k = std::min(n, kSize - pos);
      std::memcpy(out, bytes + pos, k);
      std::memset(bytes + pos, 0, k);  // never handed out twice
      pos += k;
      out += k;
      n -= k;
    }
  }
};

thread_local RandomBuffer t_buffer;

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
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  unsigned char buf[64];
  while (n > 0) {
    const std::size_t k = std::min(n, sizeof buf);
    random_bytes(buf, k);
    for (std::size_t i = 0; i < k; ++i) {
      out.push_back(kHex[buf[i] >> 4]);
      out.push_back(kHex[buf[i] & 0xF]);
    }
    n -= k;
  }
  return out;
}

}  // namespace refcache
