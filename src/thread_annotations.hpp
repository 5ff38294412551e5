// Clang's thread-safety annotations, for the implementation classes of every library here:
// a field says which mutex guards it (GUARDED_BY), a function which mutex it needs held
// (REQUIRES) or must not hold (EXCLUDES). `scripts/lint` compiles our sources with
// clang -Wthread-safety, so a field touched without its lock is a build error there; other
// compilers see empty macros.
//
// std::mutex is not annotated as a capability by libstdc++, so guarded classes hold an
// refcache_sync::Mutex (a std::mutex that is one) and lock it with refcache_sync::Lock (a
// scoped lock the analysis understands), or UniqueLock where a condition variable waits.
// A reader-writer lock is a SharedMutex (a std::shared_mutex), held with ReaderLock (shared)
// or WriterLock (exclusive).
#pragma once

#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define REFCACHE_TSA(x) __attribute__((x))
#else
#define REFCACHE_TSA(x)
#endif

#define CAPABILITY(x) REFCACHE_TSA(capability(x))
#define SCOPED_CAPABILITY REFCACHE_TSA(scoped_lockable)
#define GUARDED_BY(x) REFCACHE_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) REFCACHE_TSA(pt_guarded_by(x))
#define REQUIRES(...) REFCACHE_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) REFCACHE_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) REFCACHE_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) REFCACHE_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) REFCACHE_TSA(try_acquire_capability(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) REFCACHE_TSA(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS REFCACHE_TSA(no_thread_safety_analysis)

namespace refcache_sync {

// A std::mutex the analysis knows as a capability.
class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // For std::condition_variable, which waits on the std::mutex itself.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Holds `mu` for its scope.
class SCOPED_CAPABILITY Lock {
 public:
  explicit Lock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~Lock() RELEASE() { mu_.unlock(); }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  Mutex& mu_;
};

// Holds `mu` for its scope and lends a std::unique_lock to condition-variable waits (which
// release and retake the mutex inside wait(); the analysis treats the lock as held
// throughout, which is what the code around the wait sees).
class SCOPED_CAPABILITY UniqueLock {
 public:
  explicit UniqueLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.native()) {}
  ~UniqueLock() RELEASE() {}
  UniqueLock(const UniqueLock&) = delete;
  UniqueLock& operator=(const UniqueLock&) = delete;
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

// A std::shared_mutex the analysis knows as a capability: readers hold it shared, writers
// exclusively.
class CAPABILITY("mutex") SharedMutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  void lock_shared() REFCACHE_TSA(acquire_shared_capability()) { mu_.lock_shared(); }
  void unlock_shared() REFCACHE_TSA(release_shared_capability()) { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds `mu` shared (a reader) for its scope.
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

}  // namespace refcache_sync
