// RedisBackend transport and production features against real redis-servers: TLS (rediss://)
// with certificates made by the openssl CLI, ACL users, retries and the circuit breaker with
// the server stopped and restarted, zstd compression, expiry events, and the connections
// themselves (RESP, shared connections, connections closed while idle).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "integration/backend_fixture.hpp"
#include "refcache/backends/redis_connection.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Collects a backend's change events.
struct Events {
  std::mutex mu;
  std::vector<ChangeEvent> got;
  void attach(Backend& b) {
    b.subscribe([this](const ChangeEvent& e) {
      std::lock_guard lock(mu);
      got.push_back(e);
    });
  }
  std::size_t count(ChangeKind k) {
    std::lock_guard lock(mu);
    return static_cast<std::size_t>(
        std::count_if(got.begin(), got.end(), [&](const ChangeEvent& e) { return e.kind == k; }));
  }
  // Waits (bounded) until `n` events of kind `k` arrived.
  bool wait_for(ChangeKind k, std::size_t n, std::chrono::milliseconds limit = 5000ms) {
    auto deadline = SteadyClock::now() + limit;
    while (SteadyClock::now() < deadline) {
      if (count(k) >= n) return true;
      std::this_thread::sleep_for(10ms);
    }
    return count(k) >= n;
  }
};

void wait_sharing(RedisBackend& b) {
  for (int i = 0; i < 300 && !b.sharing_events(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(b.sharing_events());
}

// Waits (bounded) until a SIGSTOPped process has really stopped (state T in /proc).
void wait_stopped(pid_t pid) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'T') return;
    std::this_thread::sleep_for(1ms);
  }
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(RedisConfig, ParsesTransportAndResilienceParameters) {
  RedisOptions o = parse_redis_url(
      "rediss://u:p@h:7000/2?ssl_ca_certs=/c/ca.pem&ssl_certfile=/c/me.pem&ssl_keyfile=/c/me.key"
      "&ssl_server_name=cache.internal&ssl_check_hostname=false&call_timeout=2.5&max_retries=4"
      "&retry_backoff_min=0.01&retry_backoff_max=0.2&breaker_threshold=7&breaker_open_time=3"
      "&compress_min_bytes=4096&compression_level=5&expiry_sweep_interval=0.5");
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.tls_ca_file, "/c/ca.pem");
  EXPECT_EQ(o.tls_cert_file, "/c/me.pem");
  EXPECT_EQ(o.tls_key_file, "/c/me.key");
  EXPECT_EQ(o.tls_server_name, "cache.internal");
  EXPECT_FALSE(o.tls_check_hostname);
  EXPECT_EQ(o.call_timeout, 2500ms);
  EXPECT_EQ(o.max_retries, 4);
  EXPECT_EQ(o.retry_backoff_min, 10ms);
  EXPECT_EQ(o.retry_backoff_max, 200ms);
  EXPECT_EQ(o.breaker_threshold, 7);
  EXPECT_EQ(o.breaker_open_time, 3000ms);
  EXPECT_EQ(o.compress_min_bytes, 4096u);
  EXPECT_EQ(o.compression_level, 5);
  EXPECT_EQ(o.expiry_sweep_interval, 500ms);
  EXPECT_EQ(parse_redis_url("redis://h?expiry_sweep_interval=0").expiry_sweep_interval, 0ms);
  EXPECT_THROW(parse_redis_url("redis://h?max_retries=-1"), InvalidArgument);
  EXPECT_THROW(parse_redis_url("redis://h?compression_level=99"), InvalidArgument);
}

// --- connections ----------------------------------------------------------------------------

TEST(RedisConnection, CommandsAreWrittenAsRespArraysOfBulkStrings) {
  std::string out = "prefix|";
  redis_detail::format_command(out, {"SET", "k", "a\r\nb", ""});
  EXPECT_EQ(out, "prefix|*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n$0\r\n\r\n");
  std::string big(100000, 'x');
  out.clear();
  redis_detail::format_command(out, {"SET", big});
  EXPECT_EQ(out.substr(0, 22), "*2\r\n$3\r\nSET\r\n$100000\r\n");
  EXPECT_EQ(out.size(), 22 + big.size() + 2);
}

// More threads than connections: callers share them, one reads for the others (and hands
// the reading over when its own replies are in). Every call must get its own replies.
TEST(RedisConnection, ThreadsBeyondThePoolShareConnectionsAndEveryCallGetsItsOwnReply) {
  RedisServer server;
  RedisOptions o = server.options();
  o.pool_size = 2;
  o.share_events = false;  // no subscriber connection: only the pool's
  o.expiry_sweep_interval = 0ms;
  RedisBackend b(o);
  constexpr int kThreads = 16, kOps = 300;
  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        std::string id = "mux:" + std::to_string(t) + ":" + std::to_string(i);
        try {
          b.set(id, make_entry(json::value(id + std::string(static_cast<std::size_t>(i) * 7, 'p')),
                               "ns" + std::to_string(t % 3)));
          // Our own entry, and one another thread wrote a moment ago.
          auto mine = b.get(id);
          if (!mine ||
              mine->value != json::value(id + std::string(static_cast<std::size_t>(i) * 7, 'p')))
            ++wrong;
          std::string other =
              "mux:" + std::to_string((t + 1) % kThreads) + ":" + std::to_string(i / 2);
          if (auto e = b.get(other); e && !e->value.get_string().starts_with(other)) ++wrong;
          if (b.exists("mux:none:" + std::to_string(i))) ++wrong;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  for (auto& th : ts) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(b.keys("ns0").size() + b.keys("ns1").size() + b.keys("ns2").size(),
            static_cast<std::size_t>(kThreads * kOps));
  RawRedis r(server.port(), server.password());
  std::string clients = r.cmd({"CLIENT", "LIST"});
  EXPECT_LE(std::count(clients.begin(), clients.end(), '\n'), 2 + 1);  // the pool + this client
}

// A connection Redis closed while it sat idle (here CLIENT KILL; in life a restart or Redis'
// own idle timeout) is noticed before a command is written to it, so a write, which is never
// retried, does not fail for it. Plain TCP and TLS (where the server's close_notify arrives).
TEST(RedisConnection, AConnectionClosedWhileIdleIsReplacedBeforeAWrite) {
  RedisServer server(RedisServer::Options{.tls = true});
  for (bool tls : {false, true}) {
    SCOPED_TRACE(tls ? "TLS" : "plain");
    RedisOptions o = tls ? server.tls_options() : server.options();
    o.pool_size = 1;
    o.share_events = false;
    o.expiry_sweep_interval = 0ms;
    o.max_retries = 0;
    RedisBackend b(o);
    for (int round = 0; round < 3; ++round) {
      b.set("idle:" + std::to_string(round), make_entry(json::value(round)));
      RawRedis r(server.port(), server.password());
      EXPECT_GE(r.integer({"CLIENT", "KILL", "TYPE", "normal"}), 1);  // not this one (SKIPME)
      std::this_thread::sleep_for(30ms);
      auto errors = b.stats().errors;
      EXPECT_NO_THROW(b.set("idle:w" + std::to_string(round), make_entry(json::value("after"))));
      auto e = b.get("idle:w" + std::to_string(round));
      ASSERT_NE(e, nullptr);
      EXPECT_EQ(e->value, json::value("after"));
      EXPECT_EQ(b.stats().errors, errors);
    }
  }
}

// Callers waiting behind a leader on a server that stopped answering all fail within the
// socket timeout, not one timeout after another; the next calls work once it answers again.
TEST(RedisConnection, EveryCallerOnAStalledConnectionFailsWithinTheSocketTimeout) {
  RedisServer server;
  RedisOptions o = server.options();
  o.pool_size = 1;
  o.socket_timeout = 300ms;
  o.max_retries = 0;
  o.breaker_threshold = 0;
  o.share_events = false;
  o.expiry_sweep_interval = 0ms;
  RedisBackend b(o);
  b.set("stall:1", make_entry(json::value(1)));
  ::kill(server.pid(), SIGSTOP);
  wait_stopped(server.pid());
  constexpr int kThreads = 6;
  std::atomic<int> failed{0};
  std::vector<std::thread> ts;
  auto t0 = SteadyClock::now();
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&] {
      try {
        b.get("stall:1");
      } catch (const BackendUnavailable&) {
        ++failed;
      }
    });
  for (auto& th : ts) th.join();
  auto took = SteadyClock::now() - t0;
  ::kill(server.pid(), SIGCONT);
  EXPECT_EQ(failed.load(), kThreads);
  EXPECT_LT(took, 1500ms);
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    try {
      auto e = b.get("stall:1");
      back = e != nullptr && e->value == json::value(1);
    } catch (const BackendUnavailable&) {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_TRUE(back);
}

// --- TLS ------------------------------------------------------------------------------------

TEST(RedisTls, UrlWithCaAndClientCertificateWorksAndEventsFlow) {
  auto& server = shared_tls_redis();
  RawRedis(server.port(), server.password()).cmd({"FLUSHALL"});
  std::string url =
      "rediss://:" + server.password() + "@127.0.0.1:" + std::to_string(server.tls_port()) +
      "/0?ssl_ca_certs=" + server.file("ca.crt") + "&ssl_certfile=" + server.file("client.crt") +
      "&ssl_keyfile=" + server.file("client.key");
  RedisOptions o = parse_redis_url(url);
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.tls_ca_file, server.file("ca.crt"));
  RedisBackend a(o);
  RedisBackend b(o);
  EXPECT_EQ(a.address().rfind("rediss://", 0), 0u) << a.address();
  wait_sharing(b);
  Events at_b;
  at_b.attach(b);
  a.set("tls:1", make_entry(json::value("secret value"), "tlsns"));
  a.set("tls:1", make_entry(json::value("secret value 2"), "tlsns"));
  auto e = b.get("tls:1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::value("secret value 2"));
  EXPECT_TRUE(at_b.wait_for(ChangeKind::kUpdated, 1));
  // The plain port of the same server holds what went through TLS.
  EXPECT_EQ(
      RawRedis(server.port(), server.password()).integer({"EXISTS", "mcp-refcache:entry:tls:1"}),
      1);
}

TEST(RedisTls, HostNameFromTheCertificateIsAccepted) {
  auto& server = shared_tls_redis();
  RedisOptions o = server.tls_options();
  o.host = "localhost";  // the certificate names DNS:localhost (and IP:127.0.0.1)
  o.tls_cert_file.clear();
  o.tls_key_file.clear();  // the server asks for no client certificate
  RedisBackend b(o);
  EXPECT_TRUE(b.health().ok);
}

TEST(RedisTls, WrongCaFailsWithAClearError) {
  auto& server = shared_tls_redis();
  RedisOptions o = server.tls_options();
  o.tls_ca_file = server.file("other-ca.crt");
  std::string m = message_of([&] { RedisBackend b(o); });
  EXPECT_NE(m.find("certificate verification failed"), std::string::npos) << m;
  EXPECT_NE(m.find("127.0.0.1:" + std::to_string(server.tls_port())), std::string::npos) << m;
  EXPECT_EQ(m.find(server.password()), std::string::npos) << m;
}

TEST(RedisTls, WrongHostNameFailsWithAClearError) {
  auto& server = shared_tls_redis();
  RedisOptions o = server.tls_options();
  o.tls_server_name = "cache.example.org";  // not in the certificate
  std::string m = message_of([&] { RedisBackend b(o); });
  EXPECT_NE(m.find("certificate verification failed"), std::string::npos) << m;
  EXPECT_NE(m.find("hostname mismatch"), std::string::npos) << m;
  // Without host name checking the CA's signature alone is accepted.
  o.tls_check_hostname = false;
  RedisBackend b(o);
  EXPECT_TRUE(b.health().ok);
}

TEST(RedisTls, PlainClientOnTheTlsPortFailsInsteadOfHanging) {
  auto& server = shared_tls_redis();
  RedisOptions o = server.options();
  o.port = server.tls_port();
  o.connect_timeout = 1000ms;
  EXPECT_THROW(RedisBackend{o}, BackendUnavailable);
}

TEST(RedisTls, MissingCaFileIsAnInvalidArgument) {
  RedisOptions o;
  o.tls = true;
  o.tls_ca_file = "/nonexistent/ca.pem";
  std::string m = message_of([&] { RedisBackend b(o); });
  EXPECT_NE(m.find("/nonexistent/ca.pem"), std::string::npos) << m;
  EXPECT_THROW(RedisBackend{o}, InvalidArgument);
}

// --- ACL users ------------------------------------------------------------------------------

TEST(RedisAcl, UserWhoseAclForbidsOurKeysGetsAClearError) {
  auto& server = shared_redis();
  RawRedis raw(server.port(), server.password());
  raw.cmd({"FLUSHALL"});
  raw.cmd({"ACL", "SETUSER", "elsewhere", "reset", "on", ">elsewhere-pass", "~otherprefix:*", "&*",
           "+@all"});
  raw.cmd({"ACL", "SETUSER", "cacheonly", "reset", "on", ">cacheonly-pass", "~mcp-refcache:*",
           "&mcp-refcache:*", "+@all"});
  RedisOptions o = server.options();
  o.user = "elsewhere";
  o.password = "elsewhere-pass";
  o.socket_timeout = 2000ms;
  RedisBackend denied(o);  // AUTH and PING touch no key
  for (const auto& call : std::vector<std::function<void()>>{
           [&] { denied.set("acl:1", make_entry(json::value(1))); }, [&] { denied.get("acl:1"); },
           [&] { denied.keys("public"); }, [&] { denied.remove("acl:1"); }}) {
    try {
      call();
      ADD_FAILURE() << "the ACL let the call through";
    } catch (const BackendUnavailable& e) {
      ADD_FAILURE() << "reported as unavailable: " << e.what();
    } catch (const BackendError& e) {
      std::string m = e.what();
      EXPECT_NE(m.find("permission denied by the server's ACL for user 'elsewhere'"),
                std::string::npos)
          << m;
      // Redis's own words follow (NOPERM for commands, "can't access" from scripts).
      EXPECT_TRUE(m.find("NOPERM") != std::string::npos ||
                  m.find("can't access") != std::string::npos)
          << m;
      EXPECT_EQ(m.find("elsewhere-pass"), std::string::npos) << m;
    }
  }
  EXPECT_EQ(denied.stats().circuit_state, 0);  // a refusal is not an outage

  // A user allowed exactly our prefix and channel works, events included.
  o.user = "cacheonly";
  o.password = "cacheonly-pass";
  RedisBackend a(o);
  RedisBackend b(o);
  wait_sharing(b);
  Events at_b;
  at_b.attach(b);
  a.set("acl:2", make_entry(json::value(2), "aclns"));
  EXPECT_NE(b.get("acl:2"), nullptr);
  EXPECT_EQ(b.keys("aclns"), std::vector<std::string>{"acl:2"});
  EXPECT_TRUE(a.remove("acl:2"));
  EXPECT_TRUE(at_b.wait_for(ChangeKind::kDeleted, 1));
  raw.cmd({"ACL", "DELUSER", "elsewhere", "cacheonly"});
}

// --- resilience -----------------------------------------------------------------------------

TEST(RedisResilience, BreakerOpensFailsFastProbesAndRecovers) {
  RedisServer server;
  RedisOptions o = server.options();
  o.socket_timeout = 500ms;
  o.connect_timeout = 300ms;
  o.reconnect_backoff_min = 1ms;
  o.reconnect_backoff_max = 1ms;
  o.max_retries = 0;
  o.breaker_threshold = 3;
  o.breaker_open_time = 300ms;
  o.share_events = false;
  o.expiry_sweep_interval = 0ms;
  RedisBackend b(o);
  b.set("cb:1", make_entry(json::value(1)));
  EXPECT_EQ(b.stats().circuit_state, 0);
  server.stop();
  // Three real failures open the circuit; then calls fail fast, saying so.
  for (int i = 0; i < 3; ++i) {
    std::string m = message_of([&] { b.get("cb:1"); });
    EXPECT_EQ(m.find("circuit open"), std::string::npos) << "call " << i << ": " << m;
    std::this_thread::sleep_for(5ms);  // past the reconnect backoff: a real attempt each time
  }
  EXPECT_EQ(b.stats().circuit_state, 1);
  for (int i = 0; i < 20; ++i) {
    std::string m = message_of([&] { b.get("cb:1"); });
    EXPECT_NE(m.find("circuit open after 3 consecutive failures"), std::string::npos) << m;
  }
  EXPECT_FALSE(b.health().ok);
  // After breaker_open_time one probe goes to the (still absent) server and fails for real;
  // the circuit opens again.
  std::this_thread::sleep_for(400ms);
  std::string probe = message_of([&] { b.get("cb:1"); });
  EXPECT_EQ(probe.find("circuit open"), std::string::npos) << probe;
  EXPECT_NE(probe.find("cannot connect"), std::string::npos) << probe;
  EXPECT_EQ(b.stats().circuit_state, 1);
  EXPECT_NE(message_of([&] { b.get("cb:1"); }).find("circuit open"), std::string::npos);
  // Redis returns: the next probe reaches it and closes the circuit, even when the probe's
  // answer is an error of its own (here a corrupt entry).
  server.start();
  RawRedis(server.port(), server.password()).cmd({"SET", "mcp-refcache:entry:cb:bad", "{oops"});
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    try {
      b.get("cb:bad");
      ADD_FAILURE() << "a corrupt entry decoded";
    } catch (const CorruptEntry&) {
      back = true;
    } catch (const BackendUnavailable&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(back);
  EXPECT_EQ(b.stats().circuit_state, 0);
  b.set("cb:2", make_entry(json::value(2)));
  EXPECT_NE(b.get("cb:2"), nullptr);
}

TEST(RedisResilience, IdempotentReadsAreRetriedWritesAreNot) {
  RedisServer server;
  RedisOptions o = server.options();
  o.socket_timeout = 200ms;
  o.connect_timeout = 200ms;
  o.reconnect_backoff_min = 10ms;
  o.reconnect_backoff_max = 10ms;
  o.pool_size = 1;  // the write goes to the connection that is open, not to a new one
  o.max_retries = 8;
  o.retry_backoff_min = 50ms;
  o.retry_backoff_max = 200ms;
  o.breaker_threshold = 0;  // retries alone
  o.share_events = false;
  o.expiry_sweep_interval = 0ms;
  RedisBackend b(o);
  b.set("rt:1", make_entry(json::value("v")));
  auto pause = [&](std::chrono::milliseconds how_long) {
    ::kill(server.pid(), SIGSTOP);
    wait_stopped(server.pid());
    return std::thread([&server, how_long] {
      std::this_thread::sleep_for(how_long);
      ::kill(server.pid(), SIGCONT);
    });
  };
  // A read whose first attempts time out is retried until the server answers.
  std::thread t = pause(500ms);
  auto errors_before = b.stats().errors;
  auto e = b.get("rt:1");
  t.join();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::value("v"));
  EXPECT_GT(b.stats().errors, errors_before);  // it did fail first
  // A write in the same situation is not retried: the caller learns it may not have happened.
  t = pause(500ms);
  std::string m = message_of([&] { b.set("rt:2", make_entry(json::value("w"))); });
  t.join();
  EXPECT_NE(m.find("no reply within 200 ms"), std::string::npos) << m;
  // The overall deadline bounds a read's retries.
  o.call_timeout = 400ms;
  o.socket_timeout = 5000ms;
  RedisBackend bounded(o);
  t = pause(1500ms);
  auto t0 = SteadyClock::now();
  EXPECT_THROW(bounded.get("rt:1"), BackendUnavailable);
  auto took = SteadyClock::now() - t0;
  t.join();
  EXPECT_LT(took, 1400ms);  // bounded by call_timeout, not socket_timeout
}

// --- compression ----------------------------------------------------------------------------

TEST(RedisCompression, LargeBlobsAreCompressedAndMixedEntriesReadBack) {
  auto& server = shared_redis();
  RawRedis raw(server.port(), server.password());
  raw.cmd({"FLUSHALL"});
  RedisOptions o = server.options();
  o.compress_min_bytes = 1000;
  RedisBackend zb(o);
  RedisBackend plain(server.options());
  json::array big;
  for (int i = 0; i < 500; ++i) big.push_back(json::value("row " + std::to_string(i % 10)));
  zb.set("z:big", make_entry(big, "zns", 3600));
  zb.set("z:small", make_entry(json::value("tiny"), "zns"));
  plain.set("z:plain", make_entry(big, "zns"));

  std::string stored = raw.cmd({"GET", "mcp-refcache:entry:z:big"});
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored[0], '\0');
  EXPECT_EQ(stored.substr(1, 3), "zst");
  std::string plain_stored = raw.cmd({"GET", "mcp-refcache:entry:z:plain"});
  EXPECT_LT(stored.size() * 4, plain_stored.size());
  EXPECT_EQ(raw.cmd({"GET", "mcp-refcache:entry:z:small"}).front(), '{');  // below the size
  EXPECT_GT(raw.integer({"PTTL", "mcp-refcache:entry:z:big"}), 3000 * 1000);

  // Both backends read both forms, whatever their own setting.
  for (RedisBackend* b : {&zb, &plain}) {
    auto e = b->get("z:big");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->value, json::value(big));
    EXPECT_EQ(e->ns, "zns");
    ASSERT_NE(b->get("z:plain"), nullptr);
    EXPECT_EQ(b->get("z:plain")->value, json::value(big));
    EXPECT_TRUE(b->exists("z:big"));
  }
  EXPECT_EQ(zb.keys("zns"), (std::vector<std::string>{"z:big", "z:plain", "z:small"}));
  // Moving a compressed entry to another namespace leaves the old index (the scripts read
  // the namespace from the compressed header), and removal names the namespace.
  KeyBinding bind{"zns2", "k"};
  zb.set("z:big", make_entry(big, "zns2"), &bind);
  EXPECT_EQ(zb.keys("zns"), (std::vector<std::string>{"z:plain", "z:small"}));
  EXPECT_EQ(zb.find_by_key("zns2", "k"), std::optional<std::string>("z:big"));
  Events ev;
  ev.attach(zb);
  EXPECT_TRUE(zb.remove("z:big"));
  ASSERT_EQ(ev.count(ChangeKind::kDeleted), 1u);
  EXPECT_EQ(ev.got[0].ns, "zns2");
  // A damaged compressed blob is a CorruptEntry for that entry only.
  raw.cmd({"SET", "mcp-refcache:entry:z:bad", std::string("\0zst3:zns", 9) + "garbage"});
  EXPECT_THROW(zb.get("z:bad"), CorruptEntry);
  EXPECT_NE(zb.get("z:plain"), nullptr);
}

// --- expiry events --------------------------------------------------------------------------

TEST(RedisExpiry, ExpiredEntriesAreAnnouncedOnceToEveryServer) {
  auto& server = shared_redis();
  RawRedis(server.port(), server.password()).cmd({"FLUSHALL"});
  RedisOptions o = server.options();
  o.expiry_sweep_interval = 100ms;
  RedisBackend a(o);
  RedisBackend b(o);
  wait_sharing(a);
  wait_sharing(b);
  Events at_a, at_b;
  at_a.attach(a);
  at_b.attach(b);
  KeyBinding bind{"expns", "key"};
  a.set("exp:1", make_entry(json::value(1), "expns", 0.3), &bind);
  a.set("exp:2", make_entry(json::value(2), "expns", 0.3));
  a.set("exp:keep", make_entry(json::value(3), "expns", 3600));
  ASSERT_TRUE(at_b.wait_for(ChangeKind::kExpired, 2));
  ASSERT_TRUE(at_a.wait_for(ChangeKind::kExpired, 2));
  std::this_thread::sleep_for(300ms);  // several more sweeps by both: no duplicates
  EXPECT_EQ(at_a.count(ChangeKind::kExpired), 2u);
  EXPECT_EQ(at_b.count(ChangeKind::kExpired), 2u);
  {
    std::lock_guard lock(at_b.mu);
    for (const auto& e : at_b.got) {
      if (e.kind != ChangeKind::kExpired) continue;
      EXPECT_TRUE(e.ref_id == "exp:1" || e.ref_id == "exp:2") << e.ref_id;
      EXPECT_EQ(e.ns, "expns");
    }
  }
  EXPECT_EQ(a.keys("expns"), std::vector<std::string>{"exp:keep"});
  EXPECT_EQ(a.find_by_key("expns", "key"), std::nullopt);
  EXPECT_GE(a.stats().expirations + b.stats().expirations, 2u);
}

}  // namespace
}  // namespace refcache::testing
