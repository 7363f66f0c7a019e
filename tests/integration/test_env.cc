#include "tests/integration/test_env.h"

#include <grpcpp/generic/generic_stub.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <pqxx/pqxx>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/audit.h"
#include "server/codec.h"
#include "storage/audit_keys.h"
#include "storage/database.h"

namespace consentd::testing {
namespace {

// libpq key=value options of the test server, without dbname.
std::string ServerOptions() {
  const char* options = std::getenv("CONSENTD_TEST_POSTGRES");
  if (options == nullptr || *options == '\0') {
    ADD_FAILURE() << "CONSENTD_TEST_POSTGRES is not set: run integration "
                     "tests through tests/run.sh, which starts PostgreSQL";
    std::abort();
  }
  return options;
}

}  // namespace

TestDatabase::TestDatabase() {
  static std::atomic<int> counter{0};
  absl::BitGen gen;
  name_ = absl::StrCat("consentd_test_", getpid(), "_", counter++, "_",
                       absl::Uniform<uint32_t>(gen));
  pqxx::connection admin(ServerOptions() + " dbname=postgres");
  pqxx::nontransaction tx(admin);
  tx.exec(absl::StrCat("CREATE DATABASE ", name_, " ENCODING 'UTF8'"));
  url_ = absl::StrCat(ServerOptions(), " dbname=", name_);
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(ServerOptions() + " dbname=postgres");
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot drop " << name_ << ": " << e.what();
  }
}

std::string TestDatabase::Query(const std::string& sql) const {
  pqxx::connection conn(url_);
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

consent::v1::Policy SeedPolicy() {
  absl::StatusOr<consent::v1::Policy> policy =
      ReadPolicyFile(CONSENTD_SOURCE_DIR "/config/policies/2026-01-12.json");
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *policy;
}

std::string TestTokensFile() {
  return absl::StrCat("admin test-admin ", Sha256Hex(kAdminToken), "\n",
                      "app test-app ", Sha256Hex(kAppToken), "\n",
                      "support test-support ", Sha256Hex(kSupportToken), "\n");
}

Config TestConfig(const std::string& db_url) {
  Config config;
  config.listen = "127.0.0.1:0";
  config.database_url = db_url;
  config.bootstrap_policy = SeedPolicy();
  config.db_pool_size = 4;
  config.audit_keys =
      std::make_shared<const AuditKeys>(AuditKeys::ForTesting());
  config.tokens =
      std::make_shared<const TokenTable>(*TokenTable::Parse(TestTokensFile()));
  config.audit_seal_interval = absl::Milliseconds(20);
  return config;
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

TestServer::TestServer(Config config, Clock* clock)
    : config_(std::move(config)), clock_(clock) {
  Start();
}

TestServer::~TestServer() { Stop(); }

void TestServer::Start() {
  absl::StatusOr<std::unique_ptr<Consentd>> server =
      Consentd::Start(config_, clock_);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  port_ = server_->port();
  // A restart binds the same port, as a restarted process would.
  config_.listen = absl::StrCat("127.0.0.1:", port_);
  channel_ =
      grpc::CreateChannel(config_.listen, grpc::InsecureChannelCredentials());
  consent_ = consent::v1::ConsentService::NewStub(channel_);
  policy_ = consent::v1::PolicyService::NewStub(channel_);
}

void TestServer::Stop() {
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
  server_.reset();
}

void TestServer::Restart() {
  Stop();
  Start();
}

Reply<consent::v1::CheckCookieResponse> TestServer::Check(
    const std::string& subject, const std::string& cookie,
    const std::string& region, bool gpc, int64_t min_consent_version) {
  consent::v1::CheckCookieRequest request;
  request.set_subject_id(subject);
  request.set_cookie_name(cookie);
  request.set_region(region);
  request.set_gpc(gpc);
  request.set_min_consent_version(min_consent_version);
  Reply<consent::v1::CheckCookieResponse> reply;
  reply.status =
      consent_->CheckCookie(Context().get(), request, &reply.response);
  return reply;
}

Reply<consent::v1::RecordConsentResponse> TestServer::Record(
    const consent::v1::RecordConsentRequest& request) {
  Reply<consent::v1::RecordConsentResponse> reply;
  reply.status =
      consent_->RecordConsent(Context().get(), request, &reply.response);
  return reply;
}

Reply<consent::v1::RecordConsentResponse> TestServer::Record(
    const std::string& subject,
    std::initializer_list<std::pair<const std::string, bool>> choices,
    const std::string& idempotency_key, int64_t expected_version) {
  consent::v1::RecordConsentRequest request;
  request.set_subject_id(subject);
  request.set_policy_version("2026-01-12");
  for (const auto& [category, granted] : choices) {
    (*request.mutable_choices())[category] = granted;
  }
  request.set_source(consent::v1::SOURCE_BANNER);
  request.set_idempotency_key(idempotency_key);
  request.set_expected_version(expected_version);
  return Record(request);
}

Reply<consent::v1::GetConsentResponse> TestServer::Get(
    const std::string& subject, const std::string& region,
    int64_t min_consent_version) {
  consent::v1::GetConsentRequest request;
  request.set_subject_id(subject);
  request.set_region(region);
  request.set_min_consent_version(min_consent_version);
  Reply<consent::v1::GetConsentResponse> reply;
  reply.status =
      consent_->GetConsent(Context().get(), request, &reply.response);
  return reply;
}

grpc::Status TestServer::CallRaw(const std::string& method,
                                 const std::string& bytes) {
  grpc::GenericStub stub(channel_);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  auto context = Context();
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

IntegrationTest::IntegrationTest() : clock_(Start()) {
  server_ = std::make_unique<TestServer>(TestConfig(db_.url()), &clock_);
}

void InsertSignedAuditEvents(const std::string& url, int events, int subjects) {
  const AuditKeys keys = AuditKeys::ForTesting();
  pqxx::connection conn(url);
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  constexpr int kBatch = 2000;
  for (int start = 0; start < events; start += kBatch) {
    pqxx::work tx(conn);
    std::string sql =
        "WITH e AS (INSERT INTO audit_events (subject_id, subject_pseudonym, "
        "action, actor, recorded_at, payload, key_id, event_mac) VALUES ";
    for (int i = start; i < std::min(events, start + kBatch); ++i) {
      const std::string subject = absl::StrCat("bulk-subject-", i % subjects);
      const std::string pseudonym = keys.Pseudonym(subject);
      const absl::Time at = t0 + absl::Seconds(i);
      Decision d;
      d.policy_version = "2026-01-12";
      d.choices = {{"statistics", i % 2 == 0}};
      d.source = ConsentSource::kImport;
      const std::string payload = DecisionAuditPayload(d, i / subjects + 1);
      const std::string mac =
          *keys.EventMac("test", "decision", pseudonym, "bulk",
                         absl::ToUnixMicros(at), payload);
      absl::StrAppend(&sql, i == start ? "" : ",", "(", tx.quote(subject), ",",
                      tx.quote(pseudonym), ",'decision','bulk',",
                      tx.quote(SqlTime(at)), ",", tx.quote(payload),
                      ",'test',decode('", absl::BytesToHexString(mac),
                      "','hex'))");
    }
    sql +=
        " RETURNING event_id) INSERT INTO audit_unsealed SELECT event_id FROM "
        "e";
    tx.exec(sql);
    tx.commit();
  }
}

}  // namespace consentd::testing
