// ChangeNotifier: cache changes become notifications/resources/updated for subscribed
// clients -- legacy resources/subscribe and modern subscriptions/listen -- and only for
// subscribers that may READ the ref.
#include <gtest/gtest.h>

#include <filesystem>

#include "jsonio/json_text.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/sqlite_backend.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "unit/recording_outbound.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

double g_now = 1000;
double fake_now() {
  return g_now;
}

// What a session's standalone stream received, and which refs' updates it was told of.
class Capture : public test_support::RecordingOutbound {
 public:
  std::vector<std::string> updated_uris() {
    std::vector<std::string> out;
    for (const auto& m : sent_so_far())
      if (m.at("method") == "notifications/resources/updated")
        out.emplace_back(m.at("params").at("uri").as_string());
    return out;
  }
};

struct Client {
  std::shared_ptr<mcp::Session> session;
  std::shared_ptr<Capture> standalone;
  mcp::MessageInfo info;
};

class NotifyTest : public ::testing::Test {
 protected:
  NotifyTest()
      : cache(make_cache_options()),
        server(mcp::ServerOptions{.info = {.name = "n", .version = "1"}, .worker_threads = 2}) {
    refcache::mcp::install(server, cache, {});
    // No watch thread here: these tests follow events alone (the watch has its own test).
    notifier = std::make_unique<refcache::mcp::ChangeNotifier>(
        server, cache, refcache::mcp::ChangeNotifierOptions{.watch_interval = 0ms});
  }
  ~NotifyTest() override { notifier.reset(); }

  static refcache::RefCacheOptions make_cache_options() {
    g_now = 1000;
    refcache::RefCacheOptions o;
    o.name = "t";
    o.clock = &fake_now;
    o.backend = std::make_shared<refcache::MemoryBackend>(
        refcache::MemoryBackendOptions{.clock = &fake_now});
    return o;
  }

  bj::value send(Client& c, const std::string& text) {
    auto out = std::make_shared<Capture>();
    server.handle(c.session, jsonio::parse_or_throw(text), out, c.info);
    EXPECT_TRUE(out->wait()) << text;
    return out->response;
  }

  Client connect(const std::string& user, const std::string& sid) {
    Client c;
    c.session = std::make_shared<mcp::Session>(sid, mcp::TransportKind::kInMemory);
    c.standalone = std::make_shared<Capture>();
    c.session->set_standalone(c.standalone);
    c.info.principal = mcp::Principal{user, {}, {}};
    server.attach(c.session);
    send(
        c,
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    send(c, R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    return c;
  }

  bj::value subscribe(Client& c, const std::string& ref) {
    return send(
        c,
        R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"refcache://)" +
            ref + R"("}})");
  }

  std::string store(const std::string& ns,
                    std::optional<std::chrono::milliseconds> ttl = std::nullopt) {
    refcache::SetOptions so;
    so.ns = ns;
    so.ttl = ttl;
    return cache.set("", bj::array{1, 2, 3}, so).ref_id;
  }

  refcache::RefCache cache;
  mcp::Server server;
  std::unique_ptr<refcache::mcp::ChangeNotifier> notifier;
};

TEST_F(NotifyTest, DeletionReachesSubscribersWhoMayRead) {
  Client alice = connect("alice", "sa");
  Client bob = connect("bob", "sb");
  const std::string mine = store("user:alice");
  EXPECT_TRUE(subscribe(alice, mine).as_object().contains("result"));
  // bob may not read alice's ref: refused exactly like a ref that does not exist.
  auto refused = subscribe(bob, mine);
  ASSERT_TRUE(refused.as_object().contains("error"));
  EXPECT_EQ(refused.at("error").at("code").as_int64(), -32002);
  auto missing = subscribe(bob, "t:00000000deadbeef");
  EXPECT_EQ(missing.at("error").at("code"), refused.at("error").at("code"));
  EXPECT_EQ(missing.at("error").at("message"), refused.at("error").at("message"));

  ASSERT_TRUE(cache.backend().remove(mine));
  EXPECT_EQ(alice.standalone->updated_uris(), std::vector<std::string>{"refcache://" + mine});
  EXPECT_TRUE(bob.standalone->updated_uris().empty());
  // The notification carries the URI only.
  const auto& params = alice.standalone->sent.back().at("params").as_object();
  EXPECT_EQ(params.size(), 1u);
}

TEST_F(NotifyTest, AnUpdateThatTakesReadAwayIsSuppressed) {
  Client alice = connect("alice", "sa");
  Client bob = connect("bob", "sb");
  const std::string shared = store("public");
  EXPECT_TRUE(subscribe(alice, shared).as_object().contains("result"));
  EXPECT_TRUE(subscribe(bob, shared).as_object().contains("result"));

  // Overwritten into alice's namespace: alice hears of it, bob no longer may.
  refcache::SetOptions so;
  so.ns = "user:alice";
  so.ref_id = shared;
  cache.set("", bj::value("secret"), so);
  EXPECT_EQ(alice.standalone->updated_uris().size(), 1u);
  EXPECT_TRUE(bob.standalone->updated_uris().empty());

  // The deletion is judged by the latest policy too.
  cache.backend().remove(shared);
  EXPECT_EQ(alice.standalone->updated_uris().size(), 2u);
  EXPECT_TRUE(bob.standalone->updated_uris().empty());
  for (const auto& m : bob.standalone->sent)
    EXPECT_EQ(jsonio::to_string(m).find("secret"), std::string::npos);

  const std::string t = server.metrics_text();
  EXPECT_NE(t.find("refcache_resource_notifications_total{result=\"suppressed\"} 2"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("refcache_resource_notifications_total{result=\"sent\"} 2"), std::string::npos)
      << t;
}

TEST_F(NotifyTest, ClearAndExpiryNotify) {
  Client alice = connect("alice", "sa");
  const std::string a = store("user:alice");
  const std::string b = store("user:alice:sub");  // another namespace: not cleared
  const std::string soon = store("public", 10s);
  for (const auto& r : {a, b, soon})
    EXPECT_TRUE(subscribe(alice, r).as_object().contains("result"));

  EXPECT_EQ(cache.clear("user:alice"), 1u);
  EXPECT_EQ(alice.standalone->updated_uris(), std::vector<std::string>{"refcache://" + a});

  g_now += 11;                              // past the TTL of `soon`
  EXPECT_FALSE(cache.backend().get(soon));  // the memory backend notices and emits kExpired
  EXPECT_EQ(alice.standalone->updated_uris(),
            (std::vector<std::string>{"refcache://" + a, "refcache://" + soon}));
}

TEST_F(NotifyTest, ModernListenStreamsGetTaggedNotificationsForReadableRefs) {
  Client alice = connect("alice", "sa");
  const std::string mine = store("user:alice");
  const std::string bobs = store("user:bob");
  auto listen = std::make_shared<Capture>();
  server.handle(
      alice.session,
      jsonio::parse_or_throw(
          R"({"jsonrpc":"2.0","id":"L","method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["refcache://)" +
          mine + R"(","refcache://)" + bobs +
          R"("]},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})"),
      listen, alice.info);
  ASSERT_TRUE(listen->wait_sent(1));
  const auto& ack = listen->sent[0];
  EXPECT_EQ(ack.at("method"), "notifications/subscriptions/acknowledged");
  EXPECT_EQ(ack.at("params").at("notifications").at("resourceSubscriptions"),
            (bj::array{bj::value("refcache://" + mine)}));

  cache.backend().remove(bobs);  // not accepted: nothing
  cache.backend().remove(mine);
  ASSERT_TRUE(listen->wait_sent(2));
  EXPECT_EQ(listen->updated_uris(), std::vector<std::string>{"refcache://" + mine});
  EXPECT_EQ(listen->sent[1].at("params").at("_meta").at("io.modelcontextprotocol/subscriptionId"),
            "L");
  EXPECT_FALSE(listen->done);
}

TEST_F(NotifyTest, OtherResourcesAreNotChecked) {
  Client alice = connect("alice", "sa");
  // Not a refcache:// URI: the notifier leaves it to whoever serves it.
  auto r = send(
      alice,
      R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"other://x"}})");
  EXPECT_TRUE(r.as_object().contains("result"));
  server.notify_resource_updated("other://x");
  EXPECT_EQ(alice.standalone->updated_uris(), std::vector<std::string>{"other://x"});
}

// Two SQLiteBackend objects on one file behave like two processes: a deletion through one
// produces no event in the other. The watch notices the ref is gone.
TEST(NotifyWatch, NoticesADeletionThatProducedNoEvent) {
  auto dir = std::filesystem::temp_directory_path() /
             ("refcache-notify-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "cache.db").string();
  {
    refcache::RefCacheOptions o;
    o.name = "t";
    o.backend = std::make_shared<refcache::SQLiteBackend>(refcache::SQLiteOptions{.path = file});
    refcache::RefCache cache(o);
    auto other = std::make_shared<refcache::SQLiteBackend>(refcache::SQLiteOptions{.path = file});
    mcp::Server server(
        mcp::ServerOptions{.info = {.name = "n", .version = "1"}, .worker_threads = 2});
    refcache::mcp::ChangeNotifier notifier(
        server, cache, refcache::mcp::ChangeNotifierOptions{.watch_interval = 20ms});

    auto session = std::make_shared<mcp::Session>("s", mcp::TransportKind::kInMemory);
    auto standalone = std::make_shared<Capture>();
    session->set_standalone(standalone);
    server.attach(session);
    auto send = [&](const std::string& text) {
      auto out = std::make_shared<Capture>();
      server.handle(session, jsonio::parse_or_throw(text), out);
      EXPECT_TRUE(out->wait()) << text;
      return out->response;
    };
    send(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    const std::string ref = cache.set("", bj::array{1, 2}, {}).ref_id;
    EXPECT_TRUE(
        send(
            R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"refcache://)" +
            ref + R"("}})")
            .as_object()
            .contains("result"));
    ASSERT_TRUE(other->remove(ref));  // no event reaches `cache`'s backend
    ASSERT_TRUE(standalone->wait_sent(1));
    EXPECT_EQ(standalone->updated_uris(), std::vector<std::string>{"refcache://" + ref});
    EXPECT_NE(server.metrics_text().find("refcache_watch_vanished_total 1"), std::string::npos);
    server.detach(session);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
