#include "core/access.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "consent/v1/audit.grpc.pb.h"
#include "consent/v1/consent.grpc.pb.h"
#include "consent/v1/policy.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "server/rpc_methods.h"
#include "storage/audit_keys.h"

namespace consentd {
namespace {

// A new RPC cannot be added without a rule: every method of every service
// of the contract must have one (and every rule must name a real method).
TEST(Access, EveryRpcHasARule) {
  int methods = 0;
  // Every service of every file of the contract.
  for (const google::protobuf::FileDescriptor* file :
       {consent::v1::CheckCookieRequest::descriptor()->file(),
        consent::v1::PublishPolicyRequest::descriptor()->file(),
        consent::v1::GetHistoryRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int i = 0; i < service->method_count(); ++i) {
        const std::string full = absl::StrCat("/", service->full_name(), "/",
                                              service->method(i)->name());
        EXPECT_TRUE(MethodRule(full).has_value()) << full << " has no rule";
        EXPECT_TRUE(RoleAllows(Role::kAdmin, full)) << full;
        ++methods;
      }
    }
  }
  // ... and the server knows each of them (metrics, authorization).
  EXPECT_EQ(methods, static_cast<int>(kRpcCount));
  for (size_t i = 0; i < kRpcCount; ++i) {
    EXPECT_TRUE(MethodRule(Info(static_cast<Rpc>(i)).full_method).has_value())
        << Info(static_cast<Rpc>(i)).full_method;
  }
  EXPECT_FALSE(MethodRule("/consent.v1.ConsentService/Nope").has_value());
  EXPECT_FALSE(RoleAllows(Role::kAdmin, "/consent.v1.ConsentService/Nope"));
}

TEST(Access, TheRolesOfDesign) {
  EXPECT_TRUE(
      RoleAllows(Role::kApp, "/consent.v1.ConsentService/RecordConsent"));
  EXPECT_TRUE(RoleAllows(Role::kApp, "/consent.v1.PolicyService/ListPolicies"));
  EXPECT_FALSE(
      RoleAllows(Role::kApp, "/consent.v1.PolicyService/PublishPolicy"));
  EXPECT_FALSE(RoleAllows(Role::kApp, "/consent.v1.AuditService/GetHistory"));
  EXPECT_TRUE(
      RoleAllows(Role::kSupport, "/consent.v1.ConsentService/GetConsent"));
  EXPECT_TRUE(
      RoleAllows(Role::kSupport, "/consent.v1.AuditService/ExportSubjectData"));
  EXPECT_TRUE(
      RoleAllows(Role::kSupport, "/consent.v1.AuditService/VerifyAuditLog"));
  EXPECT_FALSE(
      RoleAllows(Role::kSupport, "/consent.v1.ConsentService/CheckCookie"));
  EXPECT_FALSE(
      RoleAllows(Role::kSupport, "/consent.v1.AuditService/EraseSubject"));
  EXPECT_TRUE(
      RoleAllows(Role::kAdmin, "/consent.v1.AuditService/EraseSubject"));
}

// Tokens are found by their SHA-256 (FIPS 180-2 vectors), on every thread:
// each keeps its own digest context.
TEST(TokenTable, TokenDigestIsSha256OnEveryThread) {
  const std::string abc =
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const std::string empty =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  EXPECT_EQ(Sha256Hex("abc"), abc);
  EXPECT_EQ(Sha256Hex(""), empty);
  EXPECT_EQ(Sha256Hex("abc"), abc);  // A reused context starts afresh.
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (Sha256Hex(i % 2 == 0 ? "abc" : "") != (i % 2 == 0 ? abc : empty)) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(TokenTable, ParsesAndFindsByDigest) {
  const std::string text = absl::StrCat(
      "# who may call\n", "app web-frontend ", Sha256Hex("t1"), "\n",
      "support helpdesk ", Sha256Hex("t2"), "   # comment\n\n");
  absl::StatusOr<TokenTable> table = TokenTable::Parse(text);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 2u);
  const Credential* c = table->Find(Sha256("t1"));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->role, Role::kApp);
  EXPECT_EQ(c->principal, "web-frontend");
  EXPECT_EQ(table->Find(Sha256("t3")), nullptr);
  EXPECT_EQ(table->Find("short"), nullptr);
}

TEST(TokenTable, MalformedLinesNameTheLineNotTheDigest) {
  const std::string digest = Sha256Hex("t1");
  for (const std::string& bad :
       {absl::StrCat("root me ", digest), absl::StrCat("app ", digest),
        std::string("app me 1234"),
        absl::StrCat("app me ", digest, "\napp you ", digest),
        absl::StrCat("app m\x01e ", digest),
        absl::StrCat(digest, " app web")}) {
    absl::StatusOr<TokenTable> t = TokenTable::Parse(bad);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(t.status().message().find("line "), absl::string_view::npos);
    EXPECT_EQ(t.status().message().find(digest), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace consentd
