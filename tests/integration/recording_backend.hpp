// RecordingBackend: a Backend decorator for tests that records the name of every operation
// it forwards ("get", "find_by_key", "get_task", ...), in order, while recording is on; so
// a test can assert which backend calls a RefCache path makes. Change events of the wrapped
// backend are re-delivered to this object's listeners.
//
// Thread-safety: as Backend; the record is guarded by its own mutex.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "refcache/backend.hpp"

namespace refcache::testing {

class RecordingBackend : public Backend {
 public:
  explicit RecordingBackend(std::shared_ptr<Backend> inner) : inner_(std::move(inner)) {
    listener_ = inner_->subscribe([this](const ChangeEvent& e) { emit(e); });
  }
  ~RecordingBackend() override { inner_->unsubscribe(listener_); }

  // Starts a new record (clearing the previous one).
  void start() {
    std::lock_guard lock(mu_);
    ops_.clear();
    on_ = true;
  }
  // Stops recording and returns what was recorded since start().
  std::vector<std::string> stop() {
    std::lock_guard lock(mu_);
    on_ = false;
    return std::move(ops_);
  }

  std::string_view kind() const override { return inner_->kind(); }
  EntryPtr get(std::string_view ref_id) override {
    note("get");
    return inner_->get(ref_id);
  }
  std::optional<std::string> set(std::string_view ref_id, EntryPtr entry,
                                 const KeyBinding* binding = nullptr) override {
    note("set");
    return inner_->set(ref_id, std::move(entry), binding);
  }
  bool remove(std::string_view ref_id) override {
    note("remove");
    return inner_->remove(ref_id);
  }
  bool exists(std::string_view ref_id) override {
    note("exists");
    return inner_->exists(ref_id);
  }
  std::size_t clear(std::optional<std::string_view> ns) override {
    note("clear");
    return inner_->clear(ns);
  }
  ListPage list(std::optional<std::string_view> ns, std::string_view cursor,
                std::size_t limit) override {
    note("list");
    return inner_->list(ns, cursor, limit);
  }
  std::optional<std::string> find_by_key(std::string_view ns, std::string_view key) override {
    note("find_by_key");
    return inner_->find_by_key(ns, key);
  }
  bool try_claim(std::string_view name, std::string_view owner,
                 std::chrono::milliseconds ttl) override {
    note("try_claim");
    return inner_->try_claim(name, owner, ttl);
  }
  void release_claim(std::string_view name, std::string_view owner) override {
    note("release_claim");
    inner_->release_claim(name, owner);
  }
  std::optional<std::string> claim_holder(std::string_view name) override {
    note("claim_holder");
    return inner_->claim_holder(name);
  }
  void put_task(const TaskRecord& task) override {
    note("put_task");
    inner_->put_task(task);
  }
  std::optional<TaskRecord> get_task(std::string_view ref_id) override {
    note("get_task");
    return inner_->get_task(ref_id);
  }
  bool remove_task(std::string_view ref_id) override {
    note("remove_task");
    return inner_->remove_task(ref_id);
  }
  Health health() override { return inner_->health(); }
  BackendStats stats() const override { return inner_->stats(); }
  void close() override { inner_->close(); }

 private:
  void note(const char* op) {
    std::lock_guard lock(mu_);
    if (on_) ops_.emplace_back(op);
  }

  std::shared_ptr<Backend> inner_;
  std::uint64_t listener_ = 0;
  std::mutex mu_;
  bool on_ = false;
  std::vector<std::string> ops_;
};

}  // namespace refcache::testing
