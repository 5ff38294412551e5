// Permissions, policies, actors, namespaces and the permission checker.
#include <gtest/gtest.h>

#include "refcache/access_policy.hpp"
#include "refcache/actor.hpp"
#include "refcache/namespace.hpp"
#include "refcache/permission_checker.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;

TEST(Permission, BitValuesMatchTheReference) {
  EXPECT_EQ(bits(Permission::kRead), 1);
  EXPECT_EQ(bits(Permission::kWrite), 2);
  EXPECT_EQ(bits(Permission::kUpdate), 4);
  EXPECT_EQ(bits(Permission::kDelete), 8);
  EXPECT_EQ(bits(Permission::kExecute), 16);
  EXPECT_EQ(Permission::kCrud,
            Permission::kRead | Permission::kWrite | Permission::kUpdate | Permission::kDelete);
  EXPECT_EQ(Permission::kFull, Permission::kCrud | Permission::kExecute);
}

TEST(Permission, HasAllNeedsEveryBit) {
  EXPECT_TRUE(has_all(Permission::kFull, Permission::kRead | Permission::kExecute));
  EXPECT_FALSE(has_all(Permission::kRead, Permission::kRead | Permission::kExecute));
  EXPECT_TRUE(has_all(Permission::kNone, Permission::kNone));
}

TEST(Permission, NamesAsPythonFlag) {
  EXPECT_EQ(permission_name(Permission::kRead), "READ");
  EXPECT_EQ(permission_name(Permission::kRead | Permission::kExecute), "READ|EXECUTE");
  EXPECT_EQ(permission_name(Permission::kCrud), "CRUD");
  EXPECT_EQ(permission_name(Permission::kFull), "FULL");
  EXPECT_EQ(permission_name(Permission::kNone), "NONE");
  EXPECT_EQ(permission_name(Permission::kWrite | Permission::kDelete), "WRITE|DELETE");
}

TEST(AccessPolicy, DefaultsAndJsonFormOfTheReference) {
  AccessPolicy p;
  EXPECT_EQ(jsonio::to_string(to_json(p)),
            R"({"user_permissions":31,"agent_permissions":17,"owner":null,"owner_permissions":31,)"
            R"("allowed_actors":null,"denied_actors":null,"bound_session":null})");
}

TEST(AccessPolicy, RoundTripsEveryField) {
  AccessPolicy p;
  p.user_permissions = Permission::kRead;
  p.agent_permissions = Permission::kExecute;
  p.owner = "user:alice";
  p.owner_permissions = Permission::kCrud;
  p.allowed_actors = std::vector<std::string>{"agent:claude-*"};
  p.denied_actors = std::vector<std::string>{"user:mallory"};
  p.bound_session = "sess-1";
  EXPECT_EQ(policy_from_json(to_json(p)), p);
}

// The text writer backends use gives exactly the text of the JSON form, for every shape.
TEST(AccessPolicy, WrittenTextEqualsTheJsonForm) {
  std::vector<AccessPolicy> cases(5);
  cases[1] = AccessPolicy::user_only();
  cases[2].owner = "user:\"quoted\" \xc3\xa9\n";
  cases[2].allowed_actors = std::vector<std::string>{};
  cases[2].denied_actors = std::vector<std::string>{"user:a", "agent:b-*", "\\"};
  cases[3].bound_session = "sess-1";
  cases[3].owner_permissions = Permission::kNone;
  cases[3].allowed_actors = std::vector<std::string>{"x"};
  cases[4] = AccessPolicy::execute_only();
  for (const auto& p : cases) {
    std::string out = "prefix";
    write_json(p, out);
    EXPECT_EQ(out, "prefix" + jsonio::to_string(to_json(p)));
    EXPECT_EQ(policy_from_json(jsonio::parse_or_throw(out.substr(6))), p);
  }
}

TEST(AccessPolicy, MissingFieldsTakeDefaultsAndWrongTypesAreRejected) {
  AccessPolicy p = policy_from_json(J(R"({"agent_permissions":0})"));
  EXPECT_EQ(p.agent_permissions, Permission::kNone);
  EXPECT_EQ(p.user_permissions, Permission::kFull);
  EXPECT_THROW(policy_from_json(J(R"({"owner":5})")), std::invalid_argument);
  EXPECT_THROW(policy_from_json(J(R"({"user_permissions":"all"})")), std::invalid_argument);
  EXPECT_THROW(policy_from_json(J(R"([1,2])")), std::invalid_argument);
}

TEST(AccessPolicy, Presets) {
  EXPECT_EQ(AccessPolicy::public_policy().agent_permissions, Permission::kFull);
  EXPECT_EQ(AccessPolicy::user_only().agent_permissions, Permission::kNone);
  EXPECT_EQ(AccessPolicy::execute_only().agent_permissions, Permission::kExecute);
  EXPECT_EQ(AccessPolicy::read_only().user_permissions, Permission::kRead);
}

// EXECUTE-only holds for every kind of actor: a caller identified as a user (a bearer token)
// must not read what an anonymous agent may not.
TEST(AccessPolicy, ExecuteOnlyRestrictsUsersToo) {
  const AccessPolicy p = AccessPolicy::execute_only();
  PermissionChecker checker;
  EXPECT_FALSE(checker.allows(p, Permission::kRead, Actor::user("bob"), "public"));
  EXPECT_TRUE(checker.allows(p, Permission::kExecute, Actor::user("bob"), "public"));
  EXPECT_FALSE(checker.allows(p, Permission::kRead, Actor::agent(), "public"));
  AccessPolicy owned = p;
  owned.owner = "user:alice";
  EXPECT_TRUE(checker.allows(owned, Permission::kRead, Actor::user("alice"), "public"));
}

TEST(AccessPolicy, StricterOfIntersectsMasksAndKeepsRestrictions) {
  AccessPolicy a;  // agent READ|EXECUTE
  AccessPolicy b = AccessPolicy::execute_only();
  b.bound_session = "s1";
  b.denied_actors = std::vector<std::string>{"agent:evil"};
  AccessPolicy s = stricter_of(a, b);
  EXPECT_EQ(s.agent_permissions, Permission::kExecute);
  EXPECT_EQ(s.bound_session, "s1");
  ASSERT_TRUE(s.denied_actors);
  EXPECT_EQ(s.denied_actors->front(), "agent:evil");
}

TEST(Actor, FactoriesAndStrings) {
  EXPECT_EQ(Actor::user("alice").to_string(), "user:alice");
  EXPECT_EQ(Actor::agent().to_string(), "agent:*");
  EXPECT_EQ(Actor::system().to_string(), "system:internal");
  EXPECT_EQ(Actor::from_literal("user").type, ActorType::kUser);
  EXPECT_EQ(Actor::from_literal("anything").type, ActorType::kAgent);
  EXPECT_EQ(Actor::from_literal("user", "s").session_id, "s");
}

TEST(Actor, MatchesPatternsLikeFnmatch) {
  Actor a = Actor::user("alice-admin");
  EXPECT_TRUE(a.matches("user:alice-*"));
  EXPECT_TRUE(a.matches("user:*-admin"));
  EXPECT_TRUE(a.matches("user:alice-???in"));
  EXPECT_TRUE(a.matches("user:[a-c]lice-admin"));
  EXPECT_FALSE(a.matches("user:[!a]lice-admin"));
  EXPECT_FALSE(a.matches("agent:alice-admin"));
  EXPECT_FALSE(a.matches("user:Alice-admin"));   // case-sensitive
  EXPECT_FALSE(a.matches("useralice"));          // no colon matches nothing
  EXPECT_TRUE(Actor::user().matches("user:*"));  // anonymous matches the wildcard
  EXPECT_FALSE(Actor::user().matches("user:a*"));
  EXPECT_TRUE(Actor::user("a\nb").matches("user:a*"));  // * crosses newlines
  EXPECT_TRUE(glob_match("[]]x", "]x"));
  EXPECT_TRUE(glob_match("a[", "a["));  // unterminated bracket is literal
  EXPECT_FALSE(glob_match("a?", "a"));
}

TEST(Namespace, ParseTableOfTheReference) {
  auto p = parse_namespace("public");
  EXPECT_TRUE(p.is_public);
  p = parse_namespace("session:abc");
  EXPECT_TRUE(p.is_session_scoped);
  EXPECT_EQ(p.identifier, "abc");
  p = parse_namespace("user:alice");
  EXPECT_TRUE(p.is_user_scoped);
  EXPECT_EQ(p.implied_owner, "user:alice");
  p = parse_namespace("agent:x");
  EXPECT_EQ(p.implied_owner, "agent:x");
  p = parse_namespace("org:acme:user:alice");
  EXPECT_EQ(p.prefix, "org");
  EXPECT_EQ(p.identifier, "acme:user:alice");
  p = parse_namespace("user:");
  EXPECT_EQ(p.identifier, "");
  EXPECT_FALSE(p.implied_owner);
  p = parse_namespace("public:x");
  EXPECT_FALSE(p.is_public);
  EXPECT_EQ(parse_namespace("").prefix, "");
}

TEST(Namespace, Rules) {
  EXPECT_TRUE(namespace_allows("public", Actor::agent()));
  EXPECT_TRUE(namespace_allows("session:s1", Actor::agent(std::nullopt, "s1")));
  EXPECT_TRUE(namespace_allows("session:s1", Actor::user("bob", "s1")));
  EXPECT_FALSE(namespace_allows("session:s1", Actor::agent(std::nullopt, "s2")));
  EXPECT_FALSE(namespace_allows("session:s1", Actor::agent()));
  EXPECT_TRUE(namespace_allows("user:alice", Actor::user("alice")));
  EXPECT_FALSE(namespace_allows("user:alice", Actor::user("bob")));
  EXPECT_FALSE(namespace_allows("user:alice", Actor::agent("alice")));
  EXPECT_TRUE(namespace_allows("agent:claude-1", Actor::agent("claude-1")));
  EXPECT_FALSE(namespace_allows("agent:claude-1", Actor::agent("gpt-4")));
  EXPECT_TRUE(namespace_allows("shared:team", Actor::agent()));
  EXPECT_TRUE(namespace_allows("custom", Actor::agent()));
  EXPECT_FALSE(namespace_allows("user", Actor::user("alice")));  // no identifier: nobody
  EXPECT_TRUE(namespace_allows("user:alice", Actor::system()));
}

TEST(Namespace, NestedPairsAreEnforced) {
  // The reference treats "org:acme:user:alice" as custom and lets everyone in.
  EXPECT_TRUE(namespace_allows("org:acme:user:alice", Actor::user("alice")));
  EXPECT_FALSE(namespace_allows("org:acme:user:alice", Actor::user("bob")));
  EXPECT_FALSE(namespace_allows("org:acme:user:alice", Actor::agent()));
  EXPECT_FALSE(namespace_allows("tenant:t:session:s1", Actor::user("a", "s2")));
  EXPECT_TRUE(namespace_allows("tenant:t:session:s1:data", Actor::user("a", "s1")));
  EXPECT_FALSE(namespace_allows("org:acme:user", Actor::user("alice")));
}

class CheckerTest : public ::testing::Test {
 protected:
  PermissionChecker checker;
  DenialReason reason_of(const AccessPolicy& p, Permission req, const Actor& a,
                         std::string_view ns = "public") {
    try {
      checker.check(p, req, a, ns);
    } catch (const PermissionDenied& e) {
      return e.reason();
    }
    ADD_FAILURE() << "expected a denial";
    return DenialReason::kRoleInsufficient;
  }
};

TEST_F(CheckerTest, RoleMasks) {
  AccessPolicy p;
  EXPECT_NO_THROW(checker.check(p, Permission::kRead, Actor::agent(), "public"));
  try {
    checker.check(p, Permission::kDelete, Actor::agent(), "public");
    FAIL();
  } catch (const PermissionDenied& e) {
    EXPECT_STREQ(e.what(), "Agent lacks DELETE permission");
    EXPECT_EQ(e.reason(), DenialReason::kRoleInsufficient);
    EXPECT_EQ(e.required(), Permission::kDelete);
    EXPECT_EQ(to_string(e.reason()), "role_insufficient");
  }
  EXPECT_NO_THROW(checker.check(p, Permission::kDelete, Actor::user(), "public"));
  EXPECT_NO_THROW(
      checker.check(AccessPolicy::user_only(), Permission::kFull, Actor::system(), "x"));
}

TEST_F(CheckerTest, OrderOfTheSixSteps) {
  AccessPolicy p;
  p.denied_actors = std::vector<std::string>{"user:alice"};
  p.allowed_actors = std::vector<std::string>{"user:alice"};
  EXPECT_EQ(reason_of(p, Permission::kRead, Actor::user("alice")), DenialReason::kExplicitDeny);

  AccessPolicy s;
  s.bound_session = "s1";
  s.allowed_actors = std::vector<std::string>{"user:*"};
  EXPECT_EQ(reason_of(s, Permission::kRead, Actor::user("a", "s2")),
            DenialReason::kSessionMismatch);
  EXPECT_EQ(reason_of(s, Permission::kRead, Actor::system()), DenialReason::kSessionMismatch);

  AccessPolicy n;
  n.allowed_actors = std::vector<std::string>{"user:bob"};
  EXPECT_EQ(reason_of(n, Permission::kRead, Actor::user("bob"), "user:alice"),
            DenialReason::kNamespaceOwnership);

  AccessPolicy allow = AccessPolicy::user_only();
  allow.allowed_actors = std::vector<std::string>{"agent:helper-*"};
  EXPECT_NO_THROW(checker.check(allow, Permission::kDelete, Actor::agent("helper-1"), "public"));

  AccessPolicy owner;
  owner.owner = "user:alice";
  owner.owner_permissions = Permission::kRead;
  EXPECT_EQ(reason_of(owner, Permission::kDelete, Actor::user("alice")),
            DenialReason::kOwnerInsufficient);
  EXPECT_NO_THROW(checker.check(owner, Permission::kDelete, Actor::user("bob"), "public"));
}

TEST_F(CheckerTest, MessagesOfTheReference) {
  AccessPolicy p;
  p.denied_actors = std::vector<std::string>{"user:*"};
  try {
    checker.check(p, Permission::kRead, Actor::user(), "public");
    FAIL();
  } catch (const PermissionDenied& e) {
    EXPECT_STREQ(e.what(), "Actor user:* is explicitly denied");
  }
  try {
    checker.check(AccessPolicy{}, Permission::kRead, Actor::agent(), "user:alice");
    FAIL();
  } catch (const PermissionDenied& e) {
    EXPECT_STREQ(e.what(), "Actor agent:* cannot access namespace user:alice");
    EXPECT_EQ(e.ns(), "user:alice");
  }
  AccessPolicy o;
  o.owner = "user:alice";
  o.owner_permissions = Permission::kRead;
  try {
    checker.check(o, Permission::kRead | Permission::kExecute, Actor::user("alice"), "public");
    FAIL();
  } catch (const PermissionDenied& e) {
    EXPECT_STREQ(e.what(), "Owner user:alice lacks READ|EXECUTE permission");
  }
}

TEST_F(CheckerTest, ExactStringFallbackInLists) {
  AccessPolicy p;
  p.denied_actors = std::vector<std::string>{"agent:*"};
  EXPECT_FALSE(checker.allows(p, Permission::kRead, Actor::agent("x"), "public"));
}

TEST_F(CheckerTest, EffectivePermissions) {
  AccessPolicy p;
  p.owner = "user:alice";
  p.owner_permissions = Permission::kRead;
  EXPECT_EQ(checker.effective(p, Actor::system(), "public"), Permission::kFull);
  EXPECT_EQ(checker.effective(p, Actor::user("alice"), "public"), Permission::kRead);
  EXPECT_EQ(checker.effective(p, Actor::agent(), "public"),
            Permission::kRead | Permission::kExecute);
  EXPECT_EQ(checker.effective(p, Actor::agent(), "user:bob"), Permission::kNone);
  p.allowed_actors = std::vector<std::string>{"agent:*"};
  EXPECT_EQ(checker.effective(p, Actor::agent(), "public"), Permission::kFull);
}

TEST_F(CheckerTest, AllowsAgreesWithCheck) {
  std::vector<AccessPolicy> policies = {AccessPolicy{}, AccessPolicy::user_only(),
                                        AccessPolicy::execute_only(), AccessPolicy::read_only()};
  policies.push_back(AccessPolicy{});
  policies.back().owner = "agent:a";
  policies.back().owner_permissions = Permission::kExecute;
  std::vector<Actor> actors = {Actor::agent(), Actor::agent("a"), Actor::user("u", "s"),
                               Actor::system()};
  for (const auto& p : policies)
    for (const auto& a : actors)
      for (int r = 0; r < 32; ++r)
        for (std::string_view ns : {"public", "user:u", "session:s", "agent:a"}) {
          Permission req = permission_from_bits(r);
          bool threw = false;
          try {
            checker.check(p, req, a, ns);
          } catch (const PermissionDenied&) {
            threw = true;
          }
          EXPECT_EQ(!threw, checker.allows(p, req, a, ns));
        }
}
