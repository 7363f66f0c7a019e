// The process-level contract: health, reflection, migrations, restarts.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <gtest/gtest.h>

#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "migrations/embedded.h"
#include "storage/migrator.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

class ServerTest : public IntegrationTest {};

TEST_F(ServerTest, HealthIsServing) {
  auto stub = grpc::health::v1::Health::NewStub(server_->channel());
  for (const char* service :
       {"", "consent.v1.ConsentService", "consent.v1.PolicyService",
        "consent.v1.AuditService"}) {
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status s = stub->Check(Context().get(), request, &response);
    ASSERT_TRUE(s.ok()) << service << ": " << s.error_message();
    EXPECT_EQ(response.status(),
              grpc::health::v1::HealthCheckResponse::SERVING);
  }
  grpc::health::v1::HealthCheckRequest unknown;
  unknown.set_service("consent.v1.NoSuchService");
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_EQ(stub->Check(Context().get(), unknown, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, MigrationsRunTwiceAreANoOp) {
  const std::string tables_before = db_.Query(
      "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
      "information_schema.tables WHERE table_schema = 'public'");
  absl::StatusOr<MigrationReport> again =
      Migrate(db_.url(), EmbeddedMigrations());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(again->already_applied,
            static_cast<int>(EmbeddedMigrations().size()));
  EXPECT_EQ(again->schema_version, EmbeddedMigrations().back().version);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(EmbeddedMigrations().size()));
  EXPECT_EQ(tables_before,
            db_.Query("SELECT string_agg(table_name, ',' ORDER BY table_name) "
                      "FROM information_schema.tables "
                      "WHERE table_schema = 'public'"));
}

TEST(Migrations, ConcurrentRunnersApplyEachMigrationOnce) {
  TestDatabase db;
  constexpr int kRunners = 4;
  std::vector<absl::StatusOr<MigrationReport>> reports(kRunners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back(
        [&, i] { reports[i] = Migrate(db.url(), EmbeddedMigrations()); });
  }
  for (auto& t : threads) t.join();
  int applied = 0;
  for (const auto& r : reports) {
    ASSERT_TRUE(r.ok()) << r.status();
    applied += r->applied;
  }
  EXPECT_EQ(applied, static_cast<int>(EmbeddedMigrations().size()));
  EXPECT_EQ(db.Count("SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(EmbeddedMigrations().size()));
}

TEST(Migrations, AnEditedMigrationStopsTheStart) {
  TestDatabase db;
  ASSERT_TRUE(Migrate(db.url(), EmbeddedMigrations()).ok());
  db.Query(
      "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
  absl::StatusOr<MigrationReport> r = Migrate(db.url(), EmbeddedMigrations());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("V001"), absl::string_view::npos);
}

TEST(Startup, AnUnreachableDatabaseIsUnavailable) {
  FakeClock clock(absl::UnixEpoch());
  Config config =
      TestConfig("host=127.0.0.1 port=1 dbname=x connect_timeout=2");
  absl::StatusOr<std::unique_ptr<Consentd>> server =
      Consentd::Start(config, &clock);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
}

TEST(Startup, APortInUseIsReported) {
  TestDatabase db;
  FakeClock clock(absl::UnixEpoch());
  TestServer first(TestConfig(db.url()), &clock);
  Config config = TestConfig(db.url());
  config.listen = "127.0.0.1:" + std::to_string(first.port());
  absl::StatusOr<std::unique_ptr<Consentd>> second =
      Consentd::Start(config, &clock);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("--listen"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace consentd::testing
