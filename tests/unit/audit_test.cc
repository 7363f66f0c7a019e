#include "core/audit.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "storage/audit_keys.h"

namespace consentd {
namespace {

TEST(AuditKeys, ParsesAndRejectsWithTheLine) {
  const std::string a =
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  const std::string b =
      "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
  absl::StatusOr<AuditKeys> keys =
      AuditKeys::Parse("# comment\nold " + a + "\n\nnew " + b + "  # signs\n");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->signing_key_id(), "new");
  for (const std::string& bad : std::vector<std::string>{
           "", "k1", "k1 " + std::string(62, 'a'), "k1 " + std::string(64, 'g'),
           "k/1 " + a, "k1 " + a + "\nk1 " + b,
           // One byte repeated is a placeholder, not a secret.
           "k1 " + std::string(64, '0'), "k1 " + std::string(64, 'f')}) {
    absl::StatusOr<AuditKeys> parsed = AuditKeys::Parse(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    // A secret never appears in an error message.
    EXPECT_EQ(parsed.status().message().find(a.substr(0, 16)),
              absl::string_view::npos);
  }
}

TEST(AuditKeys, MacsDependOnEveryFieldAndTheKey) {
  const AuditKeys keys = AuditKeys::ForTesting();
  const std::string base =
      *keys.EventMac("test", "decision", "p", "actor", 1, "{}");
  EXPECT_EQ(base, *keys.EventMac("test", "decision", "p", "actor", 1, "{}"));
  EXPECT_EQ(base.size(), 32u);
  EXPECT_NE(base, *keys.EventMac("test", "erasure", "p", "actor", 1, "{}"));
  EXPECT_NE(base, *keys.EventMac("test", "decision", "q", "actor", 1, "{}"));
  EXPECT_NE(base, *keys.EventMac("test", "decision", "p", "actor2", 1, "{}"));
  EXPECT_NE(base, *keys.EventMac("test", "decision", "p", "actor", 2, "{}"));
  EXPECT_NE(base, *keys.EventMac("test", "decision", "p", "actor", 1, "{ }"));
  // Fields are length-prefixed: moving a boundary changes the MAC.
  EXPECT_NE(*keys.EventMac("test", "decision", "pa", "ctor", 1, "{}"), base);
  EXPECT_FALSE(keys.EventMac("other", "decision", "p", "actor", 1, "{}").ok());
  const AuditKeys other = *AuditKeys::Parse(
      std::string("test ") +
      "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
  EXPECT_NE(base, *other.EventMac("test", "decision", "p", "actor", 1, "{}"));
  EXPECT_NE(*keys.ChainMac("test", "", 1, 7, base),
            *keys.ChainMac("test", "", 2, 7, base));
}

TEST(AuditKeys, PseudonymsAreStableAndKeyed) {
  const AuditKeys keys = AuditKeys::ForTesting();
  EXPECT_EQ(keys.Pseudonym("user-1"), keys.Pseudonym("user-1"));
  EXPECT_NE(keys.Pseudonym("user-1"), keys.Pseudonym("User-1"));
  EXPECT_EQ(keys.Pseudonym("user-1").size(), 64u);
  EXPECT_NE(keys.Pseudonym("user-1"), Sha256Hex("user-1"));
  EXPECT_NE(keys.Fingerprint("ip", "1.2.3.4"),
            keys.Fingerprint("ua", "1.2.3.4"));
}

TEST(AuditPayload, DecisionIsCanonicalJson) {
  Decision d;
  d.subject_id = "not in the payload";
  d.policy_version = "2026-01-12";
  d.choices = {{"marketing", false}, {"statistics", true}};
  d.source = ConsentSource::kBanner;
  d.region = "DE";
  d.idempotency_key = "k\"1";
  d.fingerprint.ip_hmac = "ab";
  EXPECT_EQ(DecisionAuditPayload(d, 3),
            "{\"consent_version\":3,\"policy_version\":\"2026-01-12\","
            "\"choices\":{\"marketing\":false,\"statistics\":true},"
            "\"source\":\"banner\",\"region\":\"DE\",\"gpc\":false,"
            "\"idempotency_key\":\"k\\\"1\",\"expected_version\":0,"
            "\"user_agent_hmac\":\"\",\"ip_hmac\":\"ab\"}");
  EXPECT_EQ(
      PolicyAuditPayload("v1", 2, "ff"),
      "{\"policy_version\":\"v1\",\"policy_seq\":2,\"policy_sha256\":\"ff\"}");
  EXPECT_EQ(ErasureAuditPayload(1, 4, 5),
            "{\"erasure\":1,\"decisions\":4,\"audit_events\":5}");
}

}  // namespace
}  // namespace consentd
