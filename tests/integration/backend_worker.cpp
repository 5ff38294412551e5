// backend_worker: plays "another server" for the multi-process tests.
//
//   backend_worker put URL NS KEY REF       set REF (bound to NS/KEY) and a task record REF
//   backend_worker lookup URL NS KEY        print "<ref> <task status>" or exit 1
//   backend_worker hold-call URL LEASE [async]
//        runs the cached call slow({"n":1}) of a RefCache "calc" whose function never returns,
//        with a claim lease of LEASE seconds; prints "computing" when the function starts.
//        With "async" (async_timeout 50 ms), prints "task <ref id>" when the call answers
//        with its task, and waits to be killed.
//   backend_worker hammer URL PROC THREADS N
//        THREADS threads each write N entries "p<PROC>-t<T>-<i>" (each read back at once and
//        an earlier one re-read every 10 writes); prints "done <count>"; exit 3 on any error.
// Exit codes: 0 ok, 1 not found, 2 usage, 3 error.
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "refcache/backend.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/errors.hpp"

using namespace refcache;
namespace json = boost::json;

namespace {

EntryPtr entry_of(json::value v, std::string ns) {
  auto e = std::make_shared<CacheEntry>();
  e->value = std::move(v);
  e->ns = std::move(ns);
  e->created_at = unix_now();
  e->expires_at = e->created_at + 3600;
  return e;
}

int hammer(const std::string& url, int proc, int threads, int n) {
  auto backend = open_backend(url);
  std::atomic<int> errors{0};
  std::atomic<long> written{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      std::string prefix = "p";
      prefix += std::to_string(proc);
      prefix += "-t";
      prefix += std::to_string(t);
      prefix += "-";
      for (int i = 0; i < n && errors == 0; ++i) {
        try {
          std::string id = prefix + std::to_string(i);
          json::object v;
          v["proc"] = proc;
          v["i"] = i;
          v["pad"] = std::string(200, 'x');
          backend->set(id, entry_of(v, "hammer"));
          auto e = backend->get(id);
          if (!e || e->value.at("i").as_int64() != i) {
            std::cerr << "read-back mismatch for " << id << "\n";
            ++errors;
          }
          if (i % 10 == 9) {
            auto old = backend->get(prefix + std::to_string(i / 2));
            if (!old) {
              std::cerr << "lost earlier write " << prefix << i / 2 << "\n";
              ++errors;
            }
          }
          ++written;
        } catch (const std::exception& ex) {
          std::cerr << "error: " << ex.what() << "\n";
          ++errors;
        }
      }
    });
  for (auto& th : ts) th.join();
  std::cout << "done " << written.load() << std::endl;
  return errors == 0 ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 5 && a[0] == "put") {
      auto backend = open_backend(a[1]);
      KeyBinding bind{a[2], a[3]};
      backend->set(a[4], entry_of(json::parse(R"({"from":"A"})"), a[2]), &bind);
      TaskRecord t;
      t.ref_id = a[4];
      t.status = TaskStatus::kProcessing;
      t.progress = TaskProgress{5, 10, "half"};
      t.started_at = unix_now();
      t.updated_at = t.started_at;
      t.attempt = 1;
      t.worker = "worker-A";
      backend->put_task(t);
      std::cout << "ok" << std::endl;
      return 0;
    }
    if (a.size() == 4 && a[0] == "lookup") {
      auto backend = open_backend(a[1]);
      auto ref = backend->find_by_key(a[2], a[3]);
      if (!ref) return 1;
      auto e = backend->get(*ref);
      auto t = backend->get_task(*ref);
      if (!e || !t) return 1;
      std::cout << *ref << " " << to_string(t->status) << " " << t->worker << " "
                << json::serialize(e->value) << std::endl;
      return 0;
    }
    if ((a.size() == 3 || (a.size() == 4 && a[3] == "async")) && a[0] == "hold-call") {
      RefCacheOptions o;
      o.name = "calc";
      o.backend = open_backend(a[1]);
      RefCache cache(o);
      CachedCallOptions co;
      co.claim_lease = std::chrono::round<std::chrono::milliseconds>(
          std::chrono::duration<double>(std::atof(a[2].c_str())));
      if (a.size() == 4) co.async_timeout = std::chrono::milliseconds(50);
      CachedCall slow(
          cache, "slow",
          [](const json::object&, CallContext&) -> json::value {
            std::cout << "computing" << std::endl;
            std::this_thread::sleep_for(std::chrono::minutes(10));  // until killed
            return 0;
          },
          co);
      auto r = slow.call({{"n", 1}});
      std::cout << "task " << r.at("ref_id").as_string().c_str() << std::endl;
      std::this_thread::sleep_for(std::chrono::minutes(10));  // until killed
      return 0;
    }
    if (a.size() == 5 && a[0] == "hammer")
      return hammer(a[1], std::atoi(a[2].c_str()), std::atoi(a[3].c_str()),
                    std::atoi(a[4].c_str()));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  std::cerr << "usage: backend_worker put|lookup|hold-call|hammer ...\n";
  return 2;
}
