// RedisServer: a real redis-server on a free loopback port, for tests and benchmarks.
//
// Started with a password, no RDB snapshots (--save ''), its own temporary directory, and
// optionally AOF persistence and a TLS port beside the plain one (certificates made with the
// openssl CLI: a test CA, a server certificate for localhost/127.0.0.1, a client
// certificate, and a second CA that signed none of them); stopped (SIGTERM, then SIGKILL after a
// bounded wait) by stop() or the destructor. RawRedis is a minimal hiredis client for checking what
// the backend stored.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "refcache/redis_config.hpp"

namespace refcache::testing {

inline int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::filesystem::path make_temp_dir(const std::string& tag) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("refcache-" + tag + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return std::filesystem::path(buf.data());
}

// One reply of RawRedis, flattened to text: strings and status as is, integers in decimal,
// nil as "(nil)", errors as "ERR:<text>", arrays as their elements joined by '\n'.
class RawRedis {
 public:
  RawRedis(int port, const std::string& password, int db = 0) {
    timeval tv{2, 0};
    ctx_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (ctx_ == nullptr || ctx_->err) {
      if (ctx_) redisFree(ctx_);
      throw std::runtime_error("RawRedis: cannot connect to port " + std::to_string(port));
    }
    redisSetTimeout(ctx_, timeval{30, 0});
    if (!password.empty()) cmd({"AUTH", password});
    if (db != 0) cmd({"SELECT", std::to_string(db)});
  }
  ~RawRedis() {
    if (ctx_) redisFree(ctx_);
  }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  std::string cmd(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) throw std::runtime_error(std::string("RawRedis: ") + ctx_->errstr);
    std::string out = flatten(r);
    freeReplyObject(r);
    return out;
  }

  long long integer(const std::vector<std::string>& args) { return std::stoll(cmd(args)); }

 private:
  static std::string flatten(const redisReply* r) {
    switch (r->type) {
      case REDIS_REPLY_STRING:
      case REDIS_REPLY_STATUS:
        return std::string(r->str, r->len);
      case REDIS_REPLY_ERROR:
        return "ERR:" + std::string(r->str, r->len);
      case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_ARRAY: {
        std::string s;
        for (size_t i = 0; i < r->elements; ++i) {
          if (i) s += '\n';
          s += flatten(r->element[i]);
        }
        return s;
      }
      default:
        return {};
    }
  }
  redisContext* ctx_ = nullptr;
};

class RedisServer {
 public:
  struct Options {
    std::string password = "refcache-test-pass";
    bool aof = false;
    bool tls = false;                       // also listen with TLS on tls_port()
    std::string cert_dir{};                 // with tls: use the certificates there (e.g. another
                                            // server's dir()) instead of making new ones
    std::vector<std::string> extra_args{};  // e.g. {"--replicaof", "127.0.0.1", "6379"}
    // Cluster mode: also pick a free cluster bus port (--cluster-port), afresh with the
    // client port on every start attempt. (Its default, port + 10000, may be taken or past
    // 65535; one picked once, outside the attempts, may be taken by a concurrent test.)
    bool cluster_bus_port = false;
  };

  explicit RedisServer(Options o) : opts_(std::move(o)) {
    dir_ = make_temp_dir("redis");
    if (opts_.tls && opts_.cert_dir.empty()) make_certificates();
    // Another process may take the free port before redis-server binds it: try a few.
    for (int attempt = 0;; ++attempt) {
      port_ = free_loopback_port();
      if (opts_.tls) tls_port_ = free_loopback_port();
      if (opts_.cluster_bus_port) cluster_port_ = free_loopback_port();
      const bool clash =
          (opts_.tls && tls_port_ == port_) ||
          (opts_.cluster_bus_port && (cluster_port_ == port_ || cluster_port_ == tls_port_));
      if (clash && attempt < 4) continue;  // the kernel handed out one port twice
      try {
        start();
        return;
      } catch (const std::exception&) {
        if (attempt == 4) throw;
      }
    }
  }
  RedisServer() : RedisServer(Options{}) {}
  ~RedisServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  int cluster_port() const { return cluster_port_; }  // with Options::cluster_bus_port
  // Certificate files (with Options::tls).
  std::string file(const std::string& name) const {
    return ((opts_.cert_dir.empty() ? dir_ : std::filesystem::path(opts_.cert_dir)) / name)
        .string();
  }
  const std::filesystem::path& dir() const { return dir_; }
  // Options for the TLS port, verified against the test CA, with the client certificate.
  RedisOptions tls_options() const {
    RedisOptions o = options();
    o.port = tls_port_;
    o.tls = true;
    o.tls_ca_file = file("ca.crt");
    o.tls_cert_file = file("client.crt");
    o.tls_key_file = file("client.key");
    return o;
  }
  const std::string& password() const { return opts_.password; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  std::string url() const {
    return "redis://:" + opts_.password + "@127.0.0.1:" + std::to_string(port_) + "/0";
  }
  RedisOptions options() const {
    RedisOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.password = opts_.password;
    return o;
  }

  // Starts redis-server (again, on the same port and directory) and waits until it answers.
  void start() {
    if (pid_ > 0) return;
    std::vector<std::string> args = {"/usr/bin/redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--requirepass",
                                     opts_.password,
                                     "--save",
                                     "",
                                     "--appendonly",
                                     opts_.aof ? "yes" : "no",
                                     "--appendfsync",
                                     "always",
                                     "--dir",
                                     dir_.string(),
                                     "--logfile",
                                     (dir_ / "redis.log").string(),
                                     "--daemonize",
                                     "no"};
    if (opts_.tls) {
      std::vector<std::string> tls = {"--tls-port",         std::to_string(tls_port_),
                                      "--tls-cert-file",    file("server.crt"),
                                      "--tls-key-file",     file("server.key"),
                                      "--tls-ca-cert-file", file("ca.crt"),
                                      "--tls-auth-clients", "optional"};
      args.insert(args.end(), tls.begin(), tls.end());
    }
    if (opts_.cluster_bus_port) {
      args.emplace_back("--cluster-port");
      args.push_back(std::to_string(cluster_port_));
    }
    args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("redis-server exited at start-up: " + log_tail());
      }
      try {
        RawRedis r(port_, opts_.password);
        if (r.cmd({"PING"}) == "PONG") return;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("redis-server did not answer within 10 s: " + log_tail());
  }

  // SIGTERM (redis flushes the AOF and exits), SIGKILL after 10 s.
  void stop() { signal_and_wait(SIGTERM); }
  void kill9() { signal_and_wait(SIGKILL); }

  std::string log_tail() const {
    std::ifstream in(dir_ / "redis.log");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
  }

 private:
  void signal_and_wait(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || r < 0) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = -1;
  }

  // A CA, a server certificate (localhost, 127.0.0.1) and a client certificate signed by
  // it, and an unrelated CA (other-ca.crt), made with the openssl CLI (EC P-256: quick).
  void make_certificates() {
    std::string d = dir_.string();
    std::ofstream(dir_ / "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    std::ofstream(dir_ / "client.ext") << "extendedKeyUsage=clientAuth\n";
    std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string cmd =
        "cd '" + d + "' && (" + "openssl req -x509" + key +
        " -keyout ca.key -out ca.crt -days 2 -subj /CN=refcache-test-ca" + " && openssl req -x509" +
        key + " -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca" +
        " && openssl req" + key + " -keyout server.key -out server.csr -subj /CN=localhost" +
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2" +
        " -out server.crt -extfile server.ext" + " && openssl req" + key +
        " -keyout client.key -out client.csr -subj /CN=refcache-client" +
        " && openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2" +
        " -out client.crt -extfile client.ext) >openssl.log 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("openssl could not make the test certificates (see " + d +
                               "/openssl.log)");
  }

  Options opts_;
  std::filesystem::path dir_;
  int port_ = 0;
  int tls_port_ = 0;
  int cluster_port_ = 0;  // with Options::cluster_bus_port
  pid_t pid_ = -1;
};

}  // namespace refcache::testing
