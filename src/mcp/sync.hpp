// Internal: what the SDK's classes lock with, beyond src/thread_annotations.hpp (Mutex, Lock,
// UniqueLock), in the form Clang's thread-safety analysis understands:
//   SharedMutex, ReaderLock, WriterLock   a reader-writer mutex and its scoped locks, for
//                                         registries read on every request, written rarely;
//   RelockableLock                        a scoped lock on a refcache_sync::Mutex that can be
//                                         released and taken again within its scope (a worker
//                                         that runs a job between two critical sections),
//                                         and lends a std::unique_lock to condition variables.
//
// Thread-safety: as the std:: types they wrap.
#pragma once

#include <mutex>
#include <shared_mutex>

#include "thread_annotations.hpp"

namespace mcp::detail {

class CAPABILITY("mutex") SharedMutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  void lock_shared() REFCACHE_TSA(acquire_shared_capability()) { mu_.lock_shared(); }
  void unlock_shared() REFCACHE_TSA(release_shared_capability()) { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds `mu` shared (readers) for its scope.
class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) REFCACHE_TSA(acquire_shared_capability(mu)) : mu_(mu) {
    mu_.lock_shared();
  }
  ~ReaderLock() RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds `mu` exclusively (a writer) for its scope.
class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

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
