// WriteGate: keeps one process's SQLite write transactions and its FULL checkpoints apart.
// Internal to src/refcache/backends (sqlite_backend.cpp).
//
// Thread-safety: every member may be called from any thread; a writer and a checkpoint each
// hold the gate through the scoped Writing / Checkpointing guards.
#pragma once

#include <condition_variable>

#include "thread_annotations.hpp"

namespace refcache::sqlite {

// Keeps this process's write transactions and its FULL checkpoints apart (PASSIVE ones run
// beside the writers). A FULL checkpoint holds SQLite's writer lock, so a write that starts
// meanwhile gets SQLITE_BUSY and sleeps in the busy handler, a millisecond or more, where the
// checkpoint takes a fraction of that (B2's sets fell by half). Here a writer waits for the
// checkpoint on a condition variable instead, and a checkpoint that is waiting lets no new
// writer in, so that writers from several threads cannot starve it.
class WriteGate {
 public:
  void enter_write() EXCLUDES(mu_) {
    refcache_sync::UniqueLock lock(mu_);
    while (checkpointing_ || checkpoint_waiting_) cv_.wait(lock.native());
    ++writers_;
  }
  void leave_write() EXCLUDES(mu_) {
    refcache_sync::Lock lock(mu_);
    if (--writers_ == 0 && checkpoint_waiting_) cv_.notify_all();
  }
  void enter_checkpoint() EXCLUDES(mu_) {
    refcache_sync::UniqueLock lock(mu_);
    checkpoint_waiting_ = true;
    while (writers_ != 0) cv_.wait(lock.native());
    checkpoint_waiting_ = false;
    checkpointing_ = true;
  }
  void leave_checkpoint() EXCLUDES(mu_) {
    {
      refcache_sync::Lock lock(mu_);
      checkpointing_ = false;
    }
    cv_.notify_all();
  }

  struct Writing {
    explicit Writing(WriteGate& g) : gate(g) { gate.enter_write(); }
    ~Writing() { gate.leave_write(); }
    Writing(const Writing&) = delete;
    Writing& operator=(const Writing&) = delete;
    WriteGate& gate;
  };
  struct Checkpointing {
    explicit Checkpointing(WriteGate& g) : gate(g) { gate.enter_checkpoint(); }
    ~Checkpointing() { gate.leave_checkpoint(); }
    Checkpointing(const Checkpointing&) = delete;
    Checkpointing& operator=(const Checkpointing&) = delete;
    WriteGate& gate;
  };

 private:
  refcache_sync::Mutex mu_;
  // Signalled when the last writer leaves while a checkpoint waits, and when a checkpoint
  // ends; waits on mu_.
  std::condition_variable cv_;
  int writers_ GUARDED_BY(mu_) = 0;                  // write transactions inside the gate
  bool checkpoint_waiting_ GUARDED_BY(mu_) = false;  // a FULL checkpoint waits to enter
  bool checkpointing_ GUARDED_BY(mu_) = false;       // a FULL checkpoint is running
};

}  // namespace refcache::sqlite
