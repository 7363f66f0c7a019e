// The process-level contract: health, reflection, migrations, restarts,
// start-up failures.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "migrations/embedded.h"
#include "storage/migrator.h"
#include "tests/integration/process_server.h"
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

TEST_F(ServerTest, ReflectionListsEveryService) {
  // grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo, called
  // without a token and without the reflection protos: the request is
  // ServerReflectionRequest{list_services: ""} (field 7, an empty string),
  // and the answer's ListServiceResponse names each service.
  grpc::GenericStub stub(server_->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::CompletionQueue cq;
  auto await = [&](intptr_t tag) {
    void* got = nullptr;
    bool ok = false;
    const auto deadline =
        std::chrono::system_clock::now() + std::chrono::seconds(10);
    EXPECT_EQ(cq.AsyncNext(&got, &ok, deadline),
              grpc::CompletionQueue::NextStatus::GOT_EVENT);
    EXPECT_EQ(got, reinterpret_cast<void*>(tag));
    return ok;
  };
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(await(1));
  const std::string request("\x3a\x00", 2);
  grpc::Slice slice(request);
  grpc::ByteBuffer buffer(&slice, 1);
  call->Write(buffer, reinterpret_cast<void*>(2));
  ASSERT_TRUE(await(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(await(3));
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(4));
  ASSERT_TRUE(await(4));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  for (const char* service :
       {"consent.v1.ConsentService", "consent.v1.PolicyService",
        "consent.v1.AuditService", "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(bytes.find(service), std::string::npos) << service;
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(await(5));
  EXPECT_TRUE(status.ok()) << status.error_message();
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

// A socket listening on a free loopback port, as another program would hold
// it; closed on destruction.
class BusyPort {
 public:
  BusyPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~BusyPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(Startup, AMetricsPortInUseIsReported) {
  TestDatabase db;
  FakeClock clock(absl::UnixEpoch());
  BusyPort busy;
  Config config = TestConfig(db.url());
  config.metrics_listen = absl::StrCat("127.0.0.1:", busy.port());
  absl::StatusOr<std::unique_ptr<Consentd>> server =
      Consentd::Start(config, &clock);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(
      server.status().message().find(absl::StrCat(
          "--metrics_listen: cannot serve metrics on 127.0.0.1:", busy.port())),
      absl::string_view::npos)
      << server.status();
}

TEST(Startup, AMetricsPortInUseStopsTheProcess) {
  TestDatabase db;
  BusyPort busy;
  const std::string dir = ::testing::TempDir();
  const std::string keys =
      absl::StrCat(dir, "busy-metrics-", getpid(), ".keys");
  const std::string tokens =
      absl::StrCat(dir, "busy-metrics-", getpid(), ".tokens");
  const std::string log = absl::StrCat(dir, "busy-metrics-", getpid(), ".log");
  std::ofstream(keys)
      << "test "
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
  std::ofstream(tokens) << TestTokensFile();
  std::vector<std::string> args = {
      CONSENTD_BINARY,
      absl::StrCat("--listen=127.0.0.1:", FreePort()),
      absl::StrCat("--metrics_listen=127.0.0.1:", busy.port()),
      "--database_url=" + db.url(),
      "--bootstrap_policy=" CONSENTD_SOURCE_DIR
      "/config/policies/2026-01-12.json",
      "--audit_key_file=" + keys,
      "--auth_tokens_file=" + tokens};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  const bool exited = Eventually(
      [&] { return waitpid(pid, &status, WNOHANG) == pid; }, absl::Seconds(30));
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  std::stringstream text;
  text << std::ifstream(log).rdbuf();
  ASSERT_TRUE(exited) << "consentd kept running with its metrics port taken:\n"
                      << text.str();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << ":\n"
                                                             << text.str();
  EXPECT_NE(
      text.str().find(absl::StrCat(
          "--metrics_listen: cannot serve metrics on 127.0.0.1:", busy.port())),
      std::string::npos)
      << text.str();
}

}  // namespace
}  // namespace consentd::testing
