// Only the right callers, only sane input: authentication and roles on every
// RPC, token reload, TLS and mutual TLS, request limits, deadlines, and SQL
// metacharacters stored and matched literally.
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "consent/v1/audit.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "server/rpc_methods.h"
#include "storage/audit_keys.h"
#include "tests/integration/process_server.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

// Calls `full_method` with an empty request and `token`; the status.
grpc::Status CallAs(const std::shared_ptr<grpc::Channel>& channel,
                    const std::string& full_method, const std::string& token,
                    const google::protobuf::MethodDescriptor* method) {
  auto context = Context(token);
  if (method->server_streaming()) {
    grpc::GenericStub stub(channel);
    grpc::CompletionQueue cq;
    auto call = stub.PrepareCall(context.get(), full_method, &cq);
    call->StartCall(reinterpret_cast<void*>(1));
    void* tag;
    bool ok;
    cq.Next(&tag, &ok);
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    call->Write(request, reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    call->WritesDone(reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
    grpc::ByteBuffer response;
    grpc::Status status;
    // One message is enough to know the call was let in (a watch never
    // ends by itself): then stop it.
    call->Read(&response, reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    if (ok) context->TryCancel();
    call->Finish(&status, reinterpret_cast<void*>(5));
    cq.Next(&tag, &ok);
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }
  grpc::GenericStub stub(channel);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(context.get(), full_method, grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

// Every RPC of consent.v1, by full name.
std::vector<std::pair<std::string, const google::protobuf::MethodDescriptor*>>
AllMethods() {
  std::vector<std::pair<std::string, const google::protobuf::MethodDescriptor*>>
      all;
  for (const char* service :
       {"consent.v1.ConsentService", "consent.v1.PolicyService",
        "consent.v1.AuditService"}) {
    const google::protobuf::ServiceDescriptor* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service);
    EXPECT_NE(d, nullptr) << service;
    for (int i = 0; d != nullptr && i < d->method_count(); ++i) {
      all.emplace_back(absl::StrCat("/", service, "/", d->method(i)->name()),
                       d->method(i));
    }
  }
  return all;
}

class SecurityTest : public IntegrationTest {
 protected:
  grpc::Status Call(const std::string& method, const std::string& token) {
    for (const auto& [name, descriptor] : AllMethods()) {
      if (name == method)
        return CallAs(server_->channel(), name, token, descriptor);
    }
    ADD_FAILURE() << "no method " << method;
    return grpc::Status::CANCELLED;
  }
};

TEST_F(SecurityTest, EveryRpcRefusesCallersWithoutAValidToken) {
  const std::string almost = std::string(kAdminToken).substr(1) + "x";
  ASSERT_EQ(AllMethods().size(), kRpcCount);
  for (const auto& [name, descriptor] : AllMethods()) {
    for (const std::string& token :
         {std::string(), almost, std::string(kAdminToken) + "0"}) {
      grpc::Status s = CallAs(server_->channel(), name, token, descriptor);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << name << " with token '" << token << "': " << s.error_message();
    }
  }
  // A malformed header is refused the same way.
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", std::string("Basic ") + kAdminToken);
  consent::v1::CheckCookieRequest r;
  consent::v1::CheckCookieResponse out;
  EXPECT_EQ(server_->consent().CheckCookie(context.get(), r, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SecurityTest, ATokenOneCharacterOffIsUnauthenticated) {
  // Same length as the real token, one character changed: at the start, in
  // the middle, at the end, and by one bit.
  const std::string valid = kAdminToken;
  std::vector<std::string> near_misses;
  for (const size_t i : {size_t{0}, valid.size() / 2, valid.size() - 1}) {
    std::string t = valid;
    t[i] = t[i] == 'x' ? 'y' : 'x';
    near_misses.push_back(t);
    t = valid;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    near_misses.push_back(t);
  }
  ASSERT_TRUE(Call("/consent.v1.PolicyService/ListPolicies", valid).ok());
  for (const std::string& token : near_misses) {
    ASSERT_EQ(token.size(), valid.size());
    ASSERT_NE(token, valid);
    for (const auto& [name, descriptor] : AllMethods()) {
      grpc::Status s = CallAs(server_->channel(), name, token, descriptor);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
          << name << " with token '" << token << "': " << s.error_message();
    }
  }
  // The valid token still works after the misses.
  EXPECT_TRUE(Call("/consent.v1.PolicyService/ListPolicies", valid).ok());
}

TEST_F(SecurityTest, RolesFollowThePermissionTable) {
  struct Expectation {
    const char* method;
    const char* token;
    bool allowed;
  };
  const std::vector<Expectation> table = {
      {"/consent.v1.ConsentService/CheckCookie", kAppToken, true},
      {"/consent.v1.ConsentService/RecordConsent", kAppToken, true},
      {"/consent.v1.PolicyService/GetPolicy", kAppToken, true},
      {"/consent.v1.AuditService/GetHistory", kAppToken, false},
      {"/consent.v1.AuditService/ExportAuditLog", kAppToken, false},
      {"/consent.v1.PolicyService/PublishPolicy", kAppToken, false},
      {"/consent.v1.AuditService/EraseSubject", kAppToken, false},
      {"/consent.v1.AuditService/GetHistory", kSupportToken, true},
      {"/consent.v1.AuditService/ExportAuditLog", kSupportToken, true},
      {"/consent.v1.PolicyService/GetPolicy", kSupportToken, true},
      {"/consent.v1.ConsentService/GetConsent", kSupportToken, true},
      {"/consent.v1.ConsentService/RecordConsent", kSupportToken, false},
      {"/consent.v1.ConsentService/CheckCookie", kSupportToken, false},
      {"/consent.v1.PolicyService/PublishPolicy", kSupportToken, false},
      {"/consent.v1.AuditService/EraseSubject", kSupportToken, false},
  };
  for (const Expectation& e : table) {
    grpc::Status s = Call(e.method, e.token);
    if (e.allowed) {
      // Past authorization: the empty request is rejected on its merits.
      EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << e.method << " as " << e.token;
      EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << e.method << " as " << e.token << ": " << s.error_message();
    }
  }
  // Admin: everything.
  for (const auto& [name, descriptor] : AllMethods()) {
    grpc::Status s = CallAs(server_->channel(), name, kAdminToken, descriptor);
    EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << name;
    EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << name;
  }
  // And for real: an app records, support reads it, the actor is the app.
  consent::v1::RecordConsentRequest record;
  record.set_subject_id("s");
  record.set_policy_version("2026-01-12");
  (*record.mutable_choices())["statistics"] = true;
  record.set_source(consent::v1::SOURCE_BANNER);
  consent::v1::RecordConsentResponse recorded;
  ASSERT_TRUE(server_->consent()
                  .RecordConsent(Context(kAppToken).get(), record, &recorded)
                  .ok());
  auto audit = consent::v1::AuditService::NewStub(server_->channel());
  consent::v1::GetHistoryRequest history;
  history.set_subject_id("s");
  consent::v1::GetHistoryResponse h;
  ASSERT_TRUE(
      audit->GetHistory(Context(kSupportToken).get(), history, &h).ok());
  EXPECT_EQ(h.decisions(0).actor(), "test-app");
}

TEST_F(SecurityTest, HealthAndReflectionNeedNoToken) {
  auto context = std::make_unique<grpc::ClientContext>();
  grpc::GenericStub stub(server_->channel());
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(context.get(), "/grpc.health.v1.Health/Check",
                 grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(SecurityTest, RequestsOverTheSizeLimitAreRefusedAndServingGoesOn) {
  consent::v1::CheckCookiesRequest big;
  big.set_subject_id("s");
  for (int i = 0; i < 5 * 1024; ++i)
    big.add_cookie_names(std::string(1024, 'c'));
  consent::v1::CheckCookiesResponse out;
  EXPECT_EQ(
      server_->consent().CheckCookies(Context().get(), big, &out).error_code(),
      grpc::StatusCode::RESOURCE_EXHAUSTED);
  consent::v1::CheckCookiesRequest many;
  many.set_subject_id("s");
  for (int i = 0; i < 1001; ++i) many.add_cookie_names("c");
  grpc::Status s = server_->consent().CheckCookies(Context().get(), many, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("at most 1000"), std::string::npos);
  EXPECT_TRUE(server_->Check("s", "refreshToken").status.ok());
}

TEST_F(SecurityTest, AWriteWhoseDeadlinePassesLeavesNothingWritten) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", true}}).status.ok());
  // Another transaction holds the subject's row: the write must wait.
  pqxx::connection blocker(db_.url());
  pqxx::work hold(blocker);
  hold.exec("SELECT * FROM subjects WHERE subject_id = 's' FOR UPDATE");

  consent::v1::RecordConsentRequest request;
  request.set_subject_id("s");
  request.set_policy_version("2026-01-12");
  (*request.mutable_choices())["marketing"] = false;
  request.set_source(consent::v1::SOURCE_BANNER);
  auto context = Context();
  context->set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(500)));
  consent::v1::RecordConsentResponse out;
  const absl::Time start = absl::Now();
  EXPECT_EQ(server_->consent()
                .RecordConsent(context.get(), request, &out)
                .error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // The server gave up on its statement too: once the lock is released,
  // nothing of the abandoned write shows up.
  EXPECT_TRUE(Eventually(
      [&] {
        return db_.Count(
                   "SELECT count(*) FROM pg_stat_activity WHERE "
                   "wait_event_type = 'Lock' AND datname = "
                   "current_database()") == 0;
      },
      absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  hold.abort();
  EXPECT_EQ(db_.Count("SELECT count(*) FROM decisions WHERE subject_id = 's'"),
            1);
  EXPECT_EQ(
      db_.Count("SELECT count(*) FROM audit_events WHERE action = 'decision'"),
      1);
  EXPECT_TRUE(server_->Check("s", "ia_mkt_source").response.allowed());
}

TEST_F(SecurityTest, SqlMetacharactersAreStoredAndMatchedLiterally) {
  const std::vector<std::string> subjects = {
      "x'); DROP TABLE decisions;--", "%", "_", "\\", "a%b_c\\d", "' OR '1'='1",
      std::string(64, '\'')};
  for (const std::string& subject : subjects) {
    ASSERT_TRUE(server_->Record(subject, {{"statistics", true}}).status.ok())
        << subject;
  }
  // Each is its own subject: none matches another as a pattern would.
  EXPECT_EQ(db_.Count("SELECT count(*) FROM subjects"),
            static_cast<int64_t>(subjects.size()));
  EXPECT_FALSE(server_->Check("ab", "ia_stats_events").response.allowed());
  EXPECT_FALSE(
      server_->Check("axb_c\\d", "ia_stats_events").response.allowed());
  auto audit = consent::v1::AuditService::NewStub(server_->channel());
  for (const std::string& subject : subjects) {
    EXPECT_TRUE(server_->Check(subject, "ia_stats_events").response.allowed());
    consent::v1::GetHistoryRequest history;
    history.set_subject_id(subject);
    consent::v1::GetHistoryResponse h;
    ASSERT_TRUE(audit->GetHistory(Context().get(), history, &h).ok());
    EXPECT_EQ(h.subject_id(), subject);
  }
  // Cookie names too.
  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  publish.mutable_policy()->set_version("2026-09-01");
  for (const char* name : {"x'); DROP TABLE decisions;--", "%", "_", "a\\b"}) {
    consent::v1::Cookie* c = publish.mutable_policy()->add_cookies();
    c->set_name(name);
    c->set_category("statistics");
    c->set_lifetime(consent::v1::LIFETIME_SESSION);
  }
  consent::v1::PublishPolicyResponse published;
  ASSERT_TRUE(server_->policy()
                  .PublishPolicy(Context().get(), publish, &published)
                  .ok());
  EXPECT_EQ(server_->Check("s", "%").response.category(), "statistics");
  EXPECT_EQ(
      server_->Check("s", "x'); DROP TABLE decisions;--").response.category(),
      "statistics");
  EXPECT_EQ(server_->Check("s", "anything").response.reason(),
            consent::v1::REASON_UNKNOWN_COOKIE);
  EXPECT_EQ(server_->Check("s", "ab").response.reason(),
            consent::v1::REASON_UNKNOWN_COOKIE);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM decisions"),
            static_cast<int64_t>(subjects.size()));
}

TEST_F(SecurityTest, A256ByteMultiByteSubjectIsStoredAndReadBackExactly) {
  // Two-, three- and four-byte characters ("ü", "€", "𝄞"), 256 bytes in all.
  std::string subject;
  while (subject.size() + 9 <= 256)
    subject += "\xC3\xBC\xE2\x82\xAC\xF0\x9D\x84\x9E";
  while (subject.size() + 2 <= 256) subject += "\xC3\xBC";
  ASSERT_EQ(subject.size(), 256u);
  auto recorded = server_->Record(subject, {{"statistics", true}});
  ASSERT_TRUE(recorded.status.ok()) << recorded.status.error_message();
  ASSERT_EQ(recorded.response.consent_version(), 1);
  // A subject one character longer is refused.
  EXPECT_EQ(server_->Record(subject + "\xC3\xBC", {{"statistics", true}})
                .status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Stored byte for byte (not re-encoded, not truncated).
  EXPECT_EQ(db_.Query("SELECT encode(convert_to(subject_id, 'UTF8'), 'hex') "
                      "FROM subjects"),
            absl::BytesToHexString(subject));
  EXPECT_EQ(db_.Count("SELECT octet_length(subject_id) FROM decisions"), 256);

  // Read back through every path that returns it.
  auto check = server_->Check(subject, "ia_stats_events");
  ASSERT_TRUE(check.status.ok());
  EXPECT_EQ(check.response.reason(), consent::v1::REASON_GRANTED);
  auto got = server_->Get(subject);
  ASSERT_TRUE(got.status.ok()) << got.status.error_message();
  EXPECT_EQ(got.response.consent_version(), 1);
  bool statistics_granted = false;
  for (const auto& c : got.response.categories()) {
    if (c.category() == "statistics") {
      statistics_granted = c.state() == consent::v1::STATE_GRANTED;
    }
  }
  EXPECT_TRUE(statistics_granted);
  // A subject differing only in its last character is someone else.
  std::string other = subject;
  other[other.size() - 1] = '\xBD';  // "ü" becomes "ý".
  EXPECT_EQ(server_->Get(other).response.consent_version(), 0);

  auto audit = consent::v1::AuditService::NewStub(server_->channel());
  consent::v1::GetHistoryRequest history;
  history.set_subject_id(subject);
  consent::v1::GetHistoryResponse h;
  ASSERT_TRUE(audit->GetHistory(Context().get(), history, &h).ok());
  EXPECT_EQ(h.subject_id(), subject);
  ASSERT_EQ(h.decisions_size(), 1);
  ASSERT_TRUE(Eventually(
      [&] { return db_.Count("SELECT count(*) FROM audit_unsealed") == 0; }));
  consent::v1::ExportAuditLogRequest request;
  request.set_subject_id(subject);
  auto context = Context();
  auto reader = audit->ExportAuditLog(context.get(), request);
  consent::v1::ExportAuditLogResponse batch;
  std::vector<std::string> exported;
  while (reader->Read(&batch)) {
    for (const auto& e : batch.events()) exported.push_back(e.subject_id());
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(exported, std::vector<std::string>{subject});
  consent::v1::ExportSubjectDataRequest access;
  access.set_subject_id(subject);
  consent::v1::ExportSubjectDataResponse data;
  ASSERT_TRUE(audit->ExportSubjectData(Context().get(), access, &data).ok());
  EXPECT_EQ(data.subject_id(), subject);
  EXPECT_EQ(data.current().consent_version(), 1);
}

TEST(SecurityStartup, PlaintextOnlyOnLoopbackUnlessAllowed) {
  TestDatabase db;
  FakeClock clock(absl::UnixEpoch());
  Config config = TestConfig(db.url());
  config.listen = "0.0.0.0:0";
  absl::StatusOr<std::unique_ptr<Consentd>> refused =
      Consentd::Start(config, &clock);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--allow_insecure_listen"),
            absl::string_view::npos);
  config.allow_insecure_listen = true;
  absl::StatusOr<std::unique_ptr<Consentd>> allowed =
      Consentd::Start(config, &clock);
  EXPECT_TRUE(allowed.ok()) << allowed.status();
}

TEST(SecurityProcess, ARemovedTokenIsRefusedAfterSighupOthersKeepWorking) {
  TestDatabase db;
  ProcessServer server(db.url());
  ASSERT_TRUE(server.Check("s", "refreshToken").status.ok());
  consent::v1::CheckCookieRequest r;
  r.set_subject_id("s");
  r.set_cookie_name("refreshToken");
  consent::v1::CheckCookieResponse out;
  ASSERT_TRUE(
      server.consent().CheckCookie(Context(kAppToken).get(), r, &out).ok());
  // Rewrite the file without the app's token, and signal.
  std::ofstream(server.tokens_path())
      << "admin test-admin " << Sha256Hex(kAdminToken) << "\n";
  kill(server.pid(), SIGHUP);
  EXPECT_TRUE(Eventually([&] {
    return server.consent()
               .CheckCookie(Context(kAppToken).get(), r, &out)
               .error_code() == grpc::StatusCode::UNAUTHENTICATED;
  }));
  // The admin keeps working on the same connection.
  EXPECT_TRUE(
      server.consent().CheckCookie(Context(kAdminToken).get(), r, &out).ok());
  // A broken file keeps the previous table.
  std::ofstream(server.tokens_path()) << "not a tokens file\n";
  kill(server.pid(), SIGHUP);
  EXPECT_TRUE(Eventually([&] {
    return server.Log().find("kept the previous credentials") !=
           std::string::npos;
  }));
  EXPECT_TRUE(
      server.consent().CheckCookie(Context(kAdminToken).get(), r, &out).ok());
  // A file emptied on purpose revokes every credential.
  std::ofstream(server.tokens_path()) << "# everyone revoked\n";
  kill(server.pid(), SIGHUP);
  EXPECT_TRUE(Eventually([&] {
    return server.consent()
               .CheckCookie(Context(kAdminToken).get(), r, &out)
               .error_code() == grpc::StatusCode::UNAUTHENTICATED;
  }));
  // No token or digest ever reaches the log.
  const std::string log = server.Log();
  EXPECT_EQ(log.find(kAppToken), std::string::npos);
  EXPECT_EQ(log.find(Sha256Hex(kAppToken)), std::string::npos);
  EXPECT_EQ(log.find(kAdminToken), std::string::npos);
}

// Throwaway certificates made with openssl: two CAs, a server certificate
// for 127.0.0.1 and a client certificate from each CA.
class Certificates {
 public:
  Certificates()
      : dir_(::testing::TempDir() + "consentd-tls-" +
             std::to_string(getpid())) {
    std::system(("mkdir -p " + dir_).c_str());
    const std::string script = absl::StrCat(
        "set -e; cd ", dir_, "; ",
        "for ca in ca other; do openssl req -x509 -newkey rsa:2048 -nodes "
        "-keyout $ca.key -out $ca.pem -days 1 -subj /CN=$ca >/dev/null 2>&1; "
        "done; ",
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost' > san.ext; ",
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out "
        "server.csr "
        "-subj /CN=localhost >/dev/null 2>&1; ",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out server.pem -days 1 -extfile san.ext >/dev/null "
        "2>&1; ",
        "for ca in ca other; do openssl req -newkey rsa:2048 -nodes -keyout "
        "client-$ca.key -out client-$ca.csr -subj /CN=client >/dev/null 2>&1; "
        "openssl x509 -req -in client-$ca.csr -CA $ca.pem -CAkey $ca.key "
        "-CAcreateserial -out client-$ca.pem -days 1 >/dev/null 2>&1; done");
    std::ofstream(dir_ + "/make.sh") << script << "\n";
    ok_ = std::system(("bash " + dir_ + "/make.sh").c_str()) == 0;
  }
  ~Certificates() { std::system(("rm -rf " + dir_).c_str()); }
  bool ok() const { return ok_; }
  std::string Read(const std::string& name) const {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

TEST(SecurityTls, MutualTlsRequiresAClientCertificateFromTheCa) {
  Certificates certs;
  ASSERT_TRUE(certs.ok());
  TestDatabase db;
  FakeClock clock(absl::UnixEpoch());
  Config config = TestConfig(db.url());
  config.tls = Config::Tls{certs.Read("server.pem"), certs.Read("server.key"),
                           certs.Read("ca.pem")};
  absl::StatusOr<std::unique_ptr<Consentd>> server =
      Consentd::Start(config, &clock);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = absl::StrCat("127.0.0.1:", (*server)->port());

  auto call = [&](const std::string& client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = certs.Read("ca.pem");
    if (!client.empty()) {
      options.pem_private_key = certs.Read("client-" + client + ".key");
      options.pem_cert_chain = certs.Read("client-" + client + ".pem");
    }
    auto channel = grpc::CreateChannel(target, grpc::SslCredentials(options));
    auto stub = consent::v1::ConsentService::NewStub(channel);
    consent::v1::CheckCookieRequest r;
    r.set_subject_id("s");
    r.set_cookie_name("refreshToken");
    consent::v1::CheckCookieResponse out;
    auto context = Context();
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    return stub->CheckCookie(context.get(), r, &out);
  };
  EXPECT_EQ(call("").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(call("other").error_code(), grpc::StatusCode::UNAVAILABLE);
  grpc::Status ok = call("ca");
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  // A plaintext client cannot talk to it either.
  auto plain = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  consent::v1::CheckCookieRequest r;
  consent::v1::CheckCookieResponse out;
  auto context = Context();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  EXPECT_FALSE(consent::v1::ConsentService::NewStub(plain)
                   ->CheckCookie(context.get(), r, &out)
                   .ok());
}

}  // namespace
}  // namespace consentd::testing
