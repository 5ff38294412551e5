// Internal: what the SDK's classes lock with, in the form Clang's thread-safety analysis
// understands (src/thread_annotations.hpp):
//   SharedMutex, ReaderLock, WriterLock   a reader-writer mutex and its scoped locks, for
//                                         registries read on every request, written rarely
//                                         (refcache_sync's, named here for the SDK);
//   RelockableLock                        a scoped lock on a refcache_sync::Mutex that can be
//                                         released and taken again within its scope (a worker
//                                         that runs a job between two critical sections),
//                                         and lends a std::unique_lock to condition variables.
//
// Thread-safety: as the std:: types they wrap.
#pragma once

#include <mutex>

#include "thread_annotations.hpp"

namespace mcp::detail {

using refcache_sync::ReaderLock;
using refcache_sync::SharedMutex;
using refcache_sync::WriterLock;

class SCOPED_CAPABILITY RelockableLock {
 public:
  explicit RelockableLock(refcache_sync::Mutex& mu) ACQUIRE(mu) : lock_(mu.native()) {}
  ~RelockableLock() RELEASE() {}
  RelockableLock(const RelockableLock&) = delete;
  RelockableLock& operator=(const RelockableLock&) = delete;
  void unlock() RELEASE() { lock_.unlock(); }
  void lock() ACQUIRE() { lock_.lock(); }
  // For std::condition_variable waits (which release and retake the mutex inside wait(); the
  // analysis treats the lock as held throughout, which is what the code around the wait sees).
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace mcp::detail
