#include "task_store.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "crypto.hpp"

namespace mcp::detail {

namespace bj = boost::json;
using std::chrono::milliseconds;

const char* to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::kWorking:
      return "working";
    case TaskStatus::kInputRequired:
      return "input_required";
    case TaskStatus::kCompleted:
      return "completed";
    case TaskStatus::kFailed:
      return "failed";
    case TaskStatus::kCancelled:
      return "cancelled";
  }
  return "working";
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, static_cast<int>(ms % 1000));
  return n > 0 ? std::string(buf, std::min(static_cast<std::size_t>(n), sizeof buf - 1))
               : std::string();
}

void TaskStore::Callbacks::run() {
  for (auto& f : fns) {
    try {
      if (f) f();
    } catch (...) {
    }
  }
  fns.clear();
}

TaskStore::TaskStore(TaskOptions options, std::function<Clock::time_point()> now)
    : opt_(options), now_(now ? std::move(now) : [] { return Clock::now(); }) {}

void TaskStore::erase_locked(std::unordered_map<std::string, TaskPtr>::iterator it) {
  auto o = per_owner_.find(it->second->owner);
  if (o != per_owner_.end() && --o->second == 0) per_owner_.erase(o);
  tasks_.erase(it);
}

bool TaskStore::settle_locked(TaskRecord& t, TaskStatus s, Callbacks& cb) {
  if (is_terminal(t.status)) return false;
  t.status = s;
  t.updated = std::chrono::system_clock::now();
  t.input_requests.clear();
  t.input_responses.clear();
  t.request_state.clear();
  if (s == TaskStatus::kCancelled && t.cancel_running)
    cb.fns.push_back(std::move(t.cancel_running));
  t.cancel_running = nullptr;
  for (auto& f : t.on_terminal) cb.fns.push_back(std::move(f));
  t.on_terminal.clear();
  t.call.reset();
  return true;
}

void TaskStore::purge_locked(Clock::time_point now, Callbacks& cb) {
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (now >= it->second->expires) {
      if (settle_locked(*it->second, TaskStatus::kCancelled, cb))
        it->second->status_message = "Expired";
      auto next = std::next(it);
      erase_locked(it);
      it = next;
    } else {
      ++it;
    }
  }
}

TaskPtr TaskStore::create(const std::string& owner, std::optional<milliseconds> ttl) {
  Callbacks cb;
  TaskPtr t;
  {
    refcache_sync::Lock lk(mu_);
    auto now = now_();
    purge_locked(now, cb);
    auto po = per_owner_.find(owner);
    std::size_t mine = po == per_owner_.end() ? 0 : po->second;
    if (tasks_.size() < opt_.max_tasks && mine < opt_.max_tasks_per_owner) {
      milliseconds d = ttl && ttl->count() > 0 ? *ttl : opt_.default_ttl;
      d = std::min(d, opt_.max_ttl);
      if (d.count() <= 0) d = milliseconds(1);
      t = std::make_shared<TaskRecord>();
      do {
        t->id = crypto::random_hex(16);
      } while (tasks_.count(t->id));
      t->owner = owner;
      t->created = t->updated = std::chrono::system_clock::now();
      t->ttl = d;
      t->expires = now + d;
      tasks_.emplace(t->id, t);
      ++per_owner_[owner];
    }
  }
  cb.run();
  return t;
}

TaskPtr TaskStore::find(std::string_view id, std::string_view owner) {
  Callbacks cb;
  TaskPtr t;
  {
    refcache_sync::Lock lk(mu_);
    auto it = tasks_.find(std::string(id));
    if (it != tasks_.end()) {
      if (now_() >= it->second->expires) {
        if (settle_locked(*it->second, TaskStatus::kCancelled, cb))
          it->second->status_message = "Expired";
        erase_locked(it);
      } else if (it->second->owner == owner) {
        t = it->second;
      }
    }
  }
  cb.run();
  return t;
}

std::vector<TaskPtr> TaskStore::list(std::string_view owner) {
  Callbacks cb;
  std::vector<TaskPtr> out;
  {
    refcache_sync::Lock lk(mu_);
    purge_locked(now_(), cb);
    for (auto& [id, t] : tasks_)
      if (t->owner == owner) out.push_back(t);
  }
  cb.run();
  std::sort(out.begin(), out.end(),
            [](const TaskPtr& a, const TaskPtr& b) { return a->created < b->created; });
  return out;
}

bool TaskStore::complete(const TaskPtr& t, bj::value result) {
  Callbacks cb;
  bool ok;
  {
    refcache_sync::Lock lk(mu_);
    ok = settle_locked(*t, TaskStatus::kCompleted, cb);
    if (ok) t->result = std::move(result);
  }
  cb.run();
  return ok;
}

bool TaskStore::fail(const TaskPtr& t, bj::value error) {
  Callbacks cb;
  bool ok;
  {
    refcache_sync::Lock lk(mu_);
    ok = settle_locked(*t, TaskStatus::kFailed, cb);
    if (ok) t->error = std::move(error);
  }
  cb.run();
  return ok;
}

bool TaskStore::cancel(const TaskPtr& t) {
  Callbacks cb;
  bool ok;
  {
    refcache_sync::Lock lk(mu_);
    ok = settle_locked(*t, TaskStatus::kCancelled, cb);
    if (ok) t->status_message = "Cancelled by the client";
  }
  cb.run();
  return ok;
}

bool TaskStore::park(const TaskPtr& t, bj::object requests, std::string state) {
  refcache_sync::Lock lk(mu_);
  if (is_terminal(t->status)) return false;
  t->status = TaskStatus::kInputRequired;
  t->updated = std::chrono::system_clock::now();
  t->input_requests = std::move(requests);
  t->input_responses.clear();
  t->request_state = std::move(state);
  t->cancel_running = nullptr;  // nothing runs while the task waits
  return true;
}

TaskStore::Update TaskStore::update(const TaskPtr& t, const bj::object& responses,
                                    bj::object& answers, std::string& state) {
  refcache_sync::Lock lk(mu_);
  if (t->status != TaskStatus::kInputRequired) return Update::kNotWaiting;
  bool any = false;
  for (const auto& kv : responses) {
    auto it = t->input_requests.find(kv.key());
    if (it == t->input_requests.end()) continue;
    t->input_responses[kv.key()] = kv.value();
    t->input_requests.erase(it);
    any = true;
  }
  if (!any) return Update::kAcked;
  t->updated = std::chrono::system_clock::now();
  if (!t->input_requests.empty()) return Update::kAcked;
  t->status = TaskStatus::kWorking;
  answers = std::move(t->input_responses);
  t->input_responses = {};
  state = std::move(t->request_state);
  t->request_state.clear();
  return Update::kResume;
}

void TaskStore::attach(const TaskPtr& t, std::shared_ptr<CallState> call,
                       std::function<void()> cancel) {
  std::function<void()> cancel_now;  // already cancelled: run the hook outside the lock
  {
    refcache_sync::Lock lk(mu_);
    if (t->status == TaskStatus::kCancelled) {
      cancel_now = std::move(cancel);
    } else if (!is_terminal(t->status)) {
      t->call = std::move(call);
      t->cancel_running = std::move(cancel);
    }
  }
  if (cancel_now) cancel_now();
}

bool TaskStore::when_terminal(const TaskPtr& t, std::function<void()> fn) {
  {
    refcache_sync::Lock lk(mu_);
    if (!is_terminal(t->status) && tasks_.count(t->id)) {
      if (t->on_terminal.size() >= kMaxWaiters) return false;
      t->on_terminal.push_back(std::move(fn));
      return true;
    }
  }
  fn();
  return true;
}

std::size_t TaskStore::drop_owner(const std::string& owner) {
  Callbacks cb;
  std::size_t n = 0;
  {
    refcache_sync::Lock lk(mu_);
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      auto next = std::next(it);
      if (it->second->owner == owner) {
        settle_locked(*it->second, TaskStatus::kCancelled, cb);
        erase_locked(it);
        ++n;
      }
      it = next;
    }
  }
  cb.run();
  return n;
}

std::size_t TaskStore::size() {
  refcache_sync::Lock lk(mu_);
  return tasks_.size();
}

void TaskStore::cancel_all() {
  Callbacks cb;
  {
    refcache_sync::Lock lk(mu_);
    for (auto& [id, t] : tasks_)
      if (settle_locked(*t, TaskStatus::kCancelled, cb)) t->status_message = "Server shutting down";
  }
  cb.run();
}

std::size_t TaskStore::purge() {
  Callbacks cb;
  std::size_t n;
  {
    refcache_sync::Lock lk(mu_);
    n = tasks_.size();
    purge_locked(now_(), cb);
    n -= tasks_.size();
  }
  cb.run();
  return n;
}

}  // namespace mcp::detail
