// The --tenants file: stores by tenant and by template, users' tenants, and every mistake
// that would mix tenants or open stores nobody configured refused with the file's name.
#include "refcache_mcp/tenants_file.hpp"

#include <gtest/gtest.h>

#include <string>

#include "refcache/errors.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace {

using refcache::InvalidArgument;
using refcache::mcp::parse_tenants_file;

TEST(TenantsFile, StoresComeFromTheTenantsListThenTheTemplate) {
  const auto f = parse_tenants_file(R"({
      "backend": "redis://h:6379/0?key_prefix=rc:{tenant}:",
      "tenants": {"big": "redis://h:6379/5", "lab": "sqlite:/srv/lab.db"},
      "users": {"alice": "acme", "bob": "big"}})",
                                    "t.json");
  EXPECT_EQ(f.backend_url("big"), "redis://h:6379/5");
  EXPECT_EQ(f.backend_url("lab"), "sqlite:/srv/lab.db");
  EXPECT_EQ(f.backend_url("acme"), "redis://h:6379/0?key_prefix=rc:acme:");
  EXPECT_EQ(f.tenant_of_user("alice"), "acme");
  EXPECT_EQ(f.tenant_of_user("carol"), "");
  // Without a template, only the tenants listed have stores.
  const auto listed = parse_tenants_file(R"({"tenants": {"big": "memory:"}})", "t.json");
  EXPECT_EQ(listed.backend_url("big"), "memory:");
  EXPECT_EQ(listed.backend_url("other"), std::nullopt);
  // Every placeholder is replaced (a file name and a prefix may both name the tenant).
  const auto twice = parse_tenants_file(R"({"backend": "sqlite:/srv/{tenant}/{tenant}.db"})", "t");
  EXPECT_EQ(twice.backend_url("x"), "sqlite:/srv/x/x.db");
}

TEST(TenantsFile, MistakesThatWouldMixTenantsAreRefused) {
  auto refused = [](const std::string& text, const std::string& says) {
    try {
      parse_tenants_file(text, "t.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InvalidArgument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("t.json"), std::string::npos) << what;
      EXPECT_NE(what.find(says), std::string::npos) << what;
    }
  };
  refused(R"({"backend": "redis://h:6379/0"})", "{tenant}");  // one store for all
  refused(R"({})", "no tenant a store");
  refused(R"({"tenants": {"../x": "memory:"}})", "not a tenant id");
  refused(R"({"tenants": {"a": "memory:"}, "users": {"bob": "b"}})", "has no store");
  refused(R"({"tenants": {"a": "memory:"}, "users": {"bob": "a/b"}})", "not a tenant id");
  refused(R"({"tenants": {"a": 5}})", "non-empty string");
  refused(R"({"tenants": {"a": "memory:"}, "owners": {}})", "unknown member");
  refused(R"([1])", "JSON object");
  refused(R"({"tenants": )", "not valid JSON");
}

TEST(TenantsFile, ACallersTenantIsItsTenantIdElseItsOrgId) {
  using refcache::mcp::tenant_of;
  EXPECT_EQ(tenant_of({{"tenant_id", "t"}, {"org_id", "o"}}), "t");
  EXPECT_EQ(tenant_of({{"org_id", "o"}}), "o");
  EXPECT_EQ(tenant_of({{"user_id", "alice"}}), "");
}

}  // namespace
