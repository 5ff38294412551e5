// RedisCluster: a real Redis Cluster on loopback for tests and benchmarks: 6 redis-server
// processes (--cluster-enabled yes, a password, masterauth, a short cluster-node-timeout),
// joined (CLUSTER MEET, ADDSLOTSRANGE, REPLICATE) into 3 primaries with one
// replica each (the commands redis-cli --cluster create sends, without its 1 s polls). The
// constructor returns once every node reports cluster_state:ok, agrees on the slot map and every
// replica's link to its primary is up; the destructor stops every process and deletes their
// directories. All waits are bounded.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"  // same directory (benchmarks include this file too)

namespace refcache::testing {

class RedisCluster {
 public:
  struct NodeInfo {
    std::string id;
    int port = 0;
    bool primary = false;
    bool failed = false;
    std::string primary_id;  // for replicas
  };

  // With `tls`, every node also listens with TLS (one test CA for all), the cluster bus and
  // replication use TLS (tls-cluster, tls-replication), and CLUSTER SLOTS asked over TLS
  // gives the TLS ports; the plain ports stay for the fixture's own commands.
  explicit RedisCluster(int node_timeout_ms = 1000, int size = 6, bool tls = false) : tls_(tls) {
    const std::string password = "refcache-cluster-pass";
    for (int i = 0; i < size; ++i) {
      RedisServer::Options o;
      o.password = password;
      o.tls = tls;
      if (tls && i > 0) o.cert_dir = nodes_.front()->dir().string();
      o.extra_args = {"--cluster-enabled",
                      "yes",
                      "--cluster-config-file",
                      "nodes.conf",
                      "--cluster-node-timeout",
                      std::to_string(node_timeout_ms),
                      "--cluster-replica-validity-factor",
                      "0",
                      "--masterauth",
                      password,
                      "--repl-diskless-sync",
                      "yes",
                      "--repl-diskless-sync-delay",
                      "0"};
      o.cluster_bus_port = true;
      if (tls)
        o.extra_args.insert(o.extra_args.end(),
                            {"--tls-cluster", "yes", "--tls-replication", "yes"});
      nodes_.push_back(std::make_unique<RedisServer>(o));
      bus_ports_.push_back(nodes_.back()->cluster_port());
    }
    dir_ = make_temp_dir("cluster");
    // What `redis-cli --cluster create ... --cluster-replicas 1` does, without its one-second
    // polls (each test process builds its own cluster, so start-up time matters): the first
    // half of the nodes share the slots, the others replicate them one each.
    std::size_t primaries = nodes_.size() / 2;
    for (std::size_t i = 1; i < nodes_.size(); ++i)
      expect_ok(nodes_[0]->port(),
                {"CLUSTER", "MEET", "127.0.0.1",
                 std::to_string(tls_ ? nodes_[i]->tls_port() : nodes_[i]->port()),
                 std::to_string(bus_ports_[i])});
    for (std::size_t i = 0; i < primaries; ++i) {
      int lo = static_cast<int>(16384 * i / primaries),
          hi = static_cast<int>(16384 * (i + 1) / primaries) - 1;
      expect_ok(nodes_[i]->port(),
                {"CLUSTER", "ADDSLOTSRANGE", std::to_string(lo), std::to_string(hi)});
    }
    // A replica can follow its primary once it knows the primary as such (gossip).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (std::size_t i = primaries; i < nodes_.size(); ++i) {
      std::string id = cmd(nodes_[i - primaries]->port(), {"CLUSTER", "MYID"});
      for (;;) {
        std::string r = cmd(nodes_[i]->port(), {"CLUSTER", "REPLICATE", id});
        if (r == "OK") break;
        if (std::chrono::steady_clock::now() > deadline)
          throw std::runtime_error("CLUSTER REPLICATE failed: " + r);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    wait_healthy(std::chrono::seconds(30));
  }
  ~RedisCluster() {
    nodes_.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  const std::string& password() const { return nodes_.front()->password(); }
  std::size_t size() const { return nodes_.size(); }
  RedisServer& node(std::size_t i) { return *nodes_[i]; }
  RedisServer* node_by_port(int port) {
    for (auto& n : nodes_)
      if (n->port() == port) return n.get();
    return nullptr;
  }

  // Options naming two of the nodes as seeds (the backend discovers the others).
  RedisOptions options() const {
    RedisOptions o;
    o.password = password();
    for (std::size_t i = 0; i < 2 && i < nodes_.size(); ++i)
      o.cluster_nodes.push_back({"127.0.0.1", nodes_[i]->port()});
    o.host = "127.0.0.1";
    o.port = nodes_.front()->port();
    return o;
  }
  // With tls: options for the TLS ports (rediss+cluster://), verified against the test CA.
  RedisOptions tls_options() const {
    RedisOptions o = nodes_.front()->tls_options();
    o.cluster_nodes.clear();
    for (std::size_t i = 0; i < 2 && i < nodes_.size(); ++i)
      o.cluster_nodes.push_back({"127.0.0.1", nodes_[i]->tls_port()});
    return o;
  }
  std::string url() const {
    std::string u = "redis+cluster://:" + password() + "@";
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      u += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(nodes_[i]->port());
    return u;
  }

  // A command on one node (by port), flattened as RawRedis does.
  std::string cmd(int port, const std::vector<std::string>& args) const {
    return RawRedis(port, password()).cmd(args);
  }

  // The cluster as a running node sees it (CLUSTER NODES).
  std::vector<NodeInfo> topology() const {
    for (auto& n : nodes_) {
      if (!n->running()) continue;
      try {
        std::string text = cmd(n->port(), {"CLUSTER", "NODES"});
        if (text.rfind("ERR:", 0) == 0) continue;
        std::vector<NodeInfo> out;
        std::istringstream lines(text);
        std::string line;
        while (std::getline(lines, line)) {
          std::istringstream f(line);
          std::string id, addr, flags, master;
          f >> id >> addr >> flags >> master;
          if (id.empty()) continue;
          NodeInfo info;
          info.id = id;
          auto colon = addr.find(':'), at = addr.find('@');
          info.port = std::atoi(addr.substr(colon + 1, at - colon - 1).c_str());
          info.primary = flags.find("master") != std::string::npos;
          info.failed =
              flags.find("fail") != std::string::npos && flags.find("fail?") == std::string::npos;
          if (master != "-") info.primary_id = master;
          out.push_back(info);
        }
        return out;
      } catch (const std::exception&) {
      }
    }
    throw std::runtime_error("no cluster node answers CLUSTER NODES");
  }

  // Ports of the running nodes that say they are primaries (ROLE), in ascending order.
  std::vector<int> primary_ports() const {
    std::vector<int> out;
    for (auto& n : nodes_) {
      if (!n->running()) continue;
      try {
        if (cmd(n->port(), {"ROLE"}).rfind("master", 0) == 0) out.push_back(n->port());
      } catch (const std::exception&) {
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // The port of a running replica of the primary on `port`, by the replicas' own account
  // (INFO replication), with its link up; 0 if none.
  int replica_of(int port) const {
    for (auto& n : nodes_) {
      if (!n->running() || n->port() == port) continue;
      try {
        std::string info = cmd(n->port(), {"INFO", "replication"});
        if (info.find("role:slave") != std::string::npos &&
            info.find("master_port:" + std::to_string(port) + "\r") != std::string::npos)
          return n->port();
      } catch (const std::exception&) {
      }
    }
    return 0;
  }

  // FLUSHALL on every running primary (replicas follow).
  void flush_all() {
    for (int p : primary_ports()) cmd(p, {"FLUSHALL"});
  }

  // Keys on the primary at `port`.
  long long dbsize(int port) const { return RawRedis(port, password()).integer({"DBSIZE"}); }

  // Until every running node says cluster_state:ok, they agree on the slot map, and every
  // running replica's link to its primary is up. Throws after `limit`.
  void wait_healthy(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        if (healthy(last)) return;
      } catch (const std::exception& e) {
        last = e.what();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("Redis Cluster not healthy within " + std::to_string(limit.count()) +
                             " s: " + last);
  }

  // Until every running replica has received everything its primary wrote so far (the
  // replication offsets match). False after `limit`.
  bool wait_replicated(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::map<int, long long> target;
    for (int p : primary_ports()) target[p] = offset(p, "master_repl_offset");
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (auto& [p, off] : target) {
        int r = replica_of(p);
        if (r != 0 && offset(r, "slave_repl_offset") < off) all = false;
      }
      if (all) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  bool running_port(int port) const {
    for (auto& n : nodes_)
      if (n->port() == port) return n->running();
    return false;
  }

  long long offset(int port, const std::string& field) const {
    std::string info = cmd(port, {"INFO", "replication"});
    auto at = info.find(field + ":");
    if (at == std::string::npos) return -1;
    return std::atoll(info.c_str() + at + field.size() + 1);
  }

  bool healthy(std::string& why) {
    for (auto& n : nodes_) {
      if (!n->running()) continue;
      std::string info = cmd(n->port(), {"CLUSTER", "INFO"});
      if (info.find("cluster_state:ok") == std::string::npos) {
        why = "node " + std::to_string(n->port()) + " not ok";
        return false;
      }
      if (info.find("cluster_slots_ok:16384") == std::string::npos) {
        why = "node " + std::to_string(n->port()) + " does not see every slot ok";
        return false;
      }
      std::string repl = cmd(n->port(), {"INFO", "replication"});
      if (repl.find("role:slave") != std::string::npos &&
          repl.find("master_link_status:up") == std::string::npos) {
        why = "replica " + std::to_string(n->port()) + " not linked";
        return false;
      }
    }
    return true;
  }

  void expect_ok(int port, const std::vector<std::string>& args) const {
    std::string r = cmd(port, args);
    if (r != "OK")
      throw std::runtime_error("cluster set-up: " + args[0] + " " + args[1] + ": " + r);
  }

  std::string read_file(const std::string& name) const {
    std::ifstream in(dir_ / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::vector<std::unique_ptr<RedisServer>> nodes_;
  bool tls_ = false;
  std::vector<int> bus_ports_;  // cluster bus port of each node
  std::filesystem::path dir_;
};

}  // namespace refcache::testing
