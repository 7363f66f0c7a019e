// What integration tests stand on: a fresh PostgreSQL database per test (on
// the server named by CONSENTD_TEST_POSTGRES, which tests/run.sh starts) and
// a real consentd on a free port, called through generated stubs.
#ifndef CONSENTD_TESTS_INTEGRATION_TEST_ENV_H_
#define CONSENTD_TESTS_INTEGRATION_TEST_ENV_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "consent/v1/consent.grpc.pb.h"
#include "consent/v1/policy.grpc.pb.h"
#include "core/clock.h"
#include "server/config.h"
#include "server/consentd.h"

namespace consentd::testing {

// A database created for one test and dropped after it.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // libpq connection string of the database.
  const std::string& url() const { return url_; }
  // Runs `sql`; returns the first column of the first row ("" if none).
  std::string Query(const std::string& sql) const;
  int64_t Count(const std::string& sql) const { return std::stoll(Query(sql)); }

 private:
  std::string name_;
  std::string url_;
};

// Writes `events` decision events straight into the audit tables of the
// database at `url`, signed with AuditKeys::ForTesting() as consentd would
// sign them (far faster than as many calls); the sealer then seals them.
// Event i is about subject "bulk-subject-<i % subjects>", recorded at
// 2026-01-01T00:00:00Z + i seconds.
void InsertSignedAuditEvents(const std::string& url, int events,
                             int subjects = 5000);

// The seed policy shipped in config/policies.
consent::v1::Policy SeedPolicy();

// A Config for a test server on `db_url`: loopback, port 0, the seed policy.
Config TestConfig(const std::string& db_url);

template <typename T>
struct Reply {
  grpc::Status status;
  T response;
};

// A consentd running in this process, and a client connected over TCP.
class TestServer {
 public:
  TestServer(Config config, Clock* clock);
  ~TestServer();

  // Stops the server and starts a new one on the same database and port
  // (as a restart of the process would).
  void Restart();
  void Stop();

  int port() const { return port_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  consent::v1::ConsentService::Stub& consent() { return *consent_; }
  consent::v1::PolicyService::Stub& policy() { return *policy_; }

  Reply<consent::v1::CheckCookieResponse> Check(
      const std::string& subject, const std::string& cookie,
      const std::string& region = "", bool gpc = false,
      int64_t min_consent_version = 0);
  Reply<consent::v1::RecordConsentResponse> Record(
      const consent::v1::RecordConsentRequest& request);
  // A banner decision under the seed policy.
  Reply<consent::v1::RecordConsentResponse> Record(
      const std::string& subject,
      std::initializer_list<std::pair<const std::string, bool>> choices,
      const std::string& idempotency_key = "", int64_t expected_version = 0);
  Reply<consent::v1::GetConsentResponse> Get(const std::string& subject,
                                             const std::string& region = "",
                                             int64_t min_consent_version = 0);

  // Sends `bytes` as the request of `method` ("/consent.v1.X/Y"), bypassing
  // client-side encoding (for malformed requests).
  grpc::Status CallRaw(const std::string& method, const std::string& bytes);

 private:
  void Start();

  Config config_;
  Clock* clock_;
  std::unique_ptr<Consentd> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<consent::v1::ConsentService::Stub> consent_;
  std::unique_ptr<consent::v1::PolicyService::Stub> policy_;
};

// Tokens of the test credentials (TestConfig and ProcessServer accept them).
inline constexpr char kAdminToken[] = "admin-token-for-tests-0123456789";
inline constexpr char kAppToken[] = "app-token-for-tests-0123456789";
inline constexpr char kSupportToken[] = "support-token-for-tests-0123456789";

// The tokens file of the test credentials (principals "test-admin",
// "test-app", "test-support").
std::string TestTokensFile();

// A client context with a 30 s deadline, presenting `token` ("" = none).
std::unique_ptr<grpc::ClientContext> Context(
    const std::string& token = kAdminToken);

// A fresh database, a fake clock at 2026-02-01T00:00:00Z and a server.
class IntegrationTest : public ::testing::Test {
 protected:
  IntegrationTest();

  static absl::Time Start() { return absl::FromUnixSeconds(1769904000); }

  TestDatabase db_;
  FakeClock clock_;
  std::unique_ptr<TestServer> server_;
};

}  // namespace consentd::testing

#endif  // CONSENTD_TESTS_INTEGRATION_TEST_ENV_H_
