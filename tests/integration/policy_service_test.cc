// PolicyService through a real gRPC client and PostgreSQL.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

class PolicyServiceTest : public IntegrationTest {
 protected:
  Reply<consent::v1::PublishPolicyResponse> Publish(
      const consent::v1::Policy& policy) {
    consent::v1::PublishPolicyRequest request;
    *request.mutable_policy() = policy;
    Reply<consent::v1::PublishPolicyResponse> reply;
    reply.status = server_->policy().PublishPolicy(Context().get(), request,
                                                   &reply.response);
    return reply;
  }
  Reply<consent::v1::Policy> GetPolicy(const std::string& version) {
    consent::v1::GetPolicyRequest request;
    request.set_version(version);
    Reply<consent::v1::Policy> reply;
    reply.status =
        server_->policy().GetPolicy(Context().get(), request, &reply.response);
    return reply;
  }
};

TEST_F(PolicyServiceTest, TheSeedPolicyIsBootstrapped) {
  auto current = GetPolicy("");
  ASSERT_TRUE(current.status.ok());
  EXPECT_EQ(current.response.version(), "2026-01-12");
  EXPECT_EQ(current.response.cookies_size(), 24);
  EXPECT_EQ(current.response.SerializeAsString(),
            SeedPolicy().SerializeAsString());
  EXPECT_EQ(db_.Query("SELECT published_by FROM policies"), "bootstrap");
  EXPECT_EQ(db_.Query("SELECT document->>'version' FROM policies"),
            "2026-01-12");
}

TEST_F(PolicyServiceTest, PublishingTheSamePolicyAgainIsANoOp) {
  auto again = Publish(SeedPolicy());
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_FALSE(again.response.created());
  EXPECT_EQ(db_.Count("SELECT count(*) FROM policies"), 1);
  // The bootstrap at a restart is a no-op too.
  server_->Restart();
  EXPECT_EQ(db_.Count("SELECT count(*) FROM policies"), 1);
}

TEST_F(PolicyServiceTest, SameVersionWithOtherContentIsAlreadyExists) {
  consent::v1::Policy changed = SeedPolicy();
  changed.mutable_cookies(0)->set_purpose("something else");
  auto r = Publish(changed);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(r.status.error_message().find("2026-01-12"), std::string::npos);
  EXPECT_EQ(GetPolicy("").response.cookies(0).purpose(),
            SeedPolicy().cookies(0).purpose());
}

TEST_F(PolicyServiceTest, ANewVersionBecomesCurrent) {
  consent::v1::Policy next = SeedPolicy();
  next.set_version("2026-06-01");
  consent::v1::Cookie* ga = next.add_cookies();
  ga->set_name("_ga_*");
  ga->set_category("statistics");
  ga->set_purpose("Analytics");
  ga->set_lifetime(consent::v1::LIFETIME_FIXED);
  ga->set_duration_seconds(400 * 86400);
  auto r = Publish(next);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.response.created());
  EXPECT_EQ(r.response.published_at().seconds(), absl::ToUnixSeconds(Start()));
  EXPECT_EQ(GetPolicy("").response.version(), "2026-06-01");
  EXPECT_EQ(GetPolicy("2026-01-12").response.version(), "2026-01-12");

  auto check = server_->Check("s", "_ga_Q7W2E9R4T1");
  EXPECT_EQ(check.response.policy_version(), "2026-06-01");
  EXPECT_EQ(check.response.category(), "statistics");

  consent::v1::ListPoliciesResponse list;
  ASSERT_TRUE(server_->policy()
                  .ListPolicies(Context().get(),
                                consent::v1::ListPoliciesRequest(), &list)
                  .ok());
  ASSERT_EQ(list.policies_size(), 2);
  EXPECT_EQ(list.policies(0).version(), "2026-01-12");
  EXPECT_FALSE(list.policies(0).current());
  EXPECT_EQ(list.policies(1).version(), "2026-06-01");
  EXPECT_TRUE(list.policies(1).current());
  EXPECT_EQ(list.policies(1).cookie_count(), 25);
  EXPECT_EQ(list.current_version(), "2026-06-01");

  // Decisions may still be recorded under the older version.
  EXPECT_TRUE(server_->Record("s", {{"statistics", true}}).status.ok());
}

TEST_F(PolicyServiceTest, AnInvalidPolicyReportsEveryProblemAndWritesNothing) {
  consent::v1::Policy bad = SeedPolicy();
  bad.set_version("2026-07-01");
  bad.mutable_cookies(3)->set_category("ads");
  bad.mutable_cookies(1)->set_lifetime(consent::v1::LIFETIME_UNSPECIFIED);
  bad.add_reconsent_categories("necessary");
  auto r = Publish(bad);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (const char* field : {"cookies[3].category", "cookies[1].lifetime",
                            "reconsent_categories[0]"}) {
    EXPECT_NE(r.status.error_message().find(field), std::string::npos) << field;
  }
  EXPECT_EQ(db_.Count("SELECT count(*) FROM policies"), 1);

  consent::v1::PublishPolicyRequest empty;
  consent::v1::PublishPolicyResponse out;
  EXPECT_EQ(server_->policy()
                .PublishPolicy(Context().get(), empty, &out)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PolicyServiceTest, PoliciesOverTheSizeLimitsAreRefusedAndNotPublished) {
  // Adds optional categories until there are `total`, and cookies likewise.
  const auto with_categories = [](consent::v1::Policy p, int total) {
    for (int i = p.categories_size(); i < total; ++i) {
      consent::v1::Category* c = p.add_categories();
      c->set_id(absl::StrCat("extra_", i));
      c->set_display_name(absl::StrCat("Extra ", i));
    }
    return p;
  };
  const auto with_cookies = [](consent::v1::Policy p, int total) {
    for (int i = p.cookies_size(); i < total; ++i) {
      consent::v1::Cookie* c = p.add_cookies();
      c->set_name(absl::StrCat("extra_cookie_", i));
      c->set_category("statistics");
      c->set_lifetime(consent::v1::LIFETIME_SESSION);
    }
    return p;
  };
  consent::v1::Policy base = SeedPolicy();
  base.set_version("2026-08-01");
  const std::string long_text(4097, 't');

  struct Case {
    std::string name;
    consent::v1::Policy policy;
    std::string message;  // Names the limit.
  };
  std::vector<Case> cases;
  cases.push_back({"20,001 cookies", with_cookies(base, 20001),
                   "cookies: at most 20000 are allowed"});
  cases.push_back({"65 categories", with_categories(base, 65),
                   "categories: at most 64 are allowed"});
  Case description{"long description", base,
                   "categories[1].description must be at most 4096 bytes "
                   "(got 4097)"};
  description.policy.mutable_categories(1)->set_description(long_text);
  cases.push_back(description);
  Case display_name{"long display name", base,
                    "categories[2].display_name must be at most 4096 bytes"};
  display_name.policy.mutable_categories(2)->set_display_name(long_text);
  cases.push_back(display_name);
  Case purpose{"long purpose", base,
               "cookies[5].purpose must be at most 4096 bytes (got 4097)"};
  purpose.policy.mutable_cookies(5)->set_purpose(long_text);
  cases.push_back(purpose);

  for (const Case& c : cases) {
    auto r = Publish(c.policy);
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.name;
    EXPECT_NE(r.status.error_message().find(c.message), std::string::npos)
        << c.name << ": " << r.status.error_message();
    // Nothing published: not stored, not audited, not current.
    EXPECT_EQ(db_.Count("SELECT count(*) FROM policies"), 1) << c.name;
    EXPECT_EQ(db_.Count("SELECT count(*) FROM audit_events "
                        "WHERE action = 'policy_publish'"),
              1)
        << c.name;
    EXPECT_EQ(GetPolicy("").response.version(), "2026-01-12") << c.name;
    EXPECT_EQ(GetPolicy("2026-08-01").status.error_code(),
              grpc::StatusCode::NOT_FOUND)
        << c.name;
  }

  // Exactly at every limit, the policy is published.
  consent::v1::Policy at_limits =
      with_cookies(with_categories(base, 64), 20000);
  at_limits.mutable_categories(1)->set_description(std::string(4096, 't'));
  at_limits.mutable_cookies(5)->set_purpose(std::string(4096, 'p'));
  auto r = Publish(at_limits);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_TRUE(r.response.created());
  auto current = GetPolicy("");
  EXPECT_EQ(current.response.version(), "2026-08-01");
  EXPECT_EQ(current.response.cookies_size(), 20000);
  EXPECT_EQ(current.response.categories_size(), 64);
}

TEST_F(PolicyServiceTest, UnknownVersionIsNotFound) {
  EXPECT_EQ(GetPolicy("1999-01-01").status.error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(GetPolicy("not a version").status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(PolicyServiceWithoutPolicy, ChecksFailUntilOneIsPublished) {
  TestDatabase db;
  FakeClock clock(absl::FromUnixSeconds(1769904000));
  Config config = TestConfig(db.url());
  config.bootstrap_policy.reset();
  TestServer server(config, &clock);
  auto check = server.Check("s", "refreshToken");
  EXPECT_EQ(check.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  consent::v1::GetPolicyRequest request;
  consent::v1::Policy policy;
  EXPECT_EQ(
      server.policy().GetPolicy(Context().get(), request, &policy).error_code(),
      grpc::StatusCode::NOT_FOUND);

  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  consent::v1::PublishPolicyResponse published;
  ASSERT_TRUE(
      server.policy().PublishPolicy(Context().get(), publish, &published).ok());
  EXPECT_TRUE(published.created());
  EXPECT_TRUE(server.Check("s", "refreshToken").response.allowed());
}

}  // namespace
}  // namespace consentd::testing
