// A consentd process's life: health per service, graceful shutdown on
// SIGTERM with writes in flight and with a stalled export stream.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "consent/v1/audit.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/integration/process_server.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus Status(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  auto context = Context("");
  if (!stub->Check(context.get(), request, &response).ok()) {
    return HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

TEST(Health, ChecksAreNotServingUntilAPolicyIsLoaded) {
  TestDatabase db;
  FakeClock clock(absl::FromUnixSeconds(1769904000));
  Config config = TestConfig(db.url());
  config.bootstrap_policy.reset();
  TestServer server(config, &clock);
  EXPECT_EQ(Status(server.channel(), ""), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Status(server.channel(), "consent.v1.ConsentService"),
            HealthCheckResponse::NOT_SERVING);
  EXPECT_TRUE(Eventually([&] {
    return Status(server.channel(), "consent.v1.PolicyService") ==
           HealthCheckResponse::SERVING;
  }));
  EXPECT_EQ(Status(server.channel(), "consentd.database"),
            HealthCheckResponse::SERVING);

  // Watch sees the change when a policy is published.
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  grpc::health::v1::HealthCheckRequest watch_request;
  watch_request.set_service("consent.v1.ConsentService");
  auto watch_context = Context("");
  auto watch = stub->Watch(watch_context.get(), watch_request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);

  consent::v1::PublishPolicyRequest publish;
  *publish.mutable_policy() = SeedPolicy();
  consent::v1::PublishPolicyResponse published;
  ASSERT_TRUE(server.policy().PublishPolicy(Context().get(), publish, &published).ok());
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  watch_context->TryCancel();
  watch->Finish();
  EXPECT_EQ(Status(server.channel(), ""), HealthCheckResponse::SERVING);
}

TEST(Shutdown, SigtermDrainsWritesAndLosesNothingAcknowledged) {
  TestDatabase db;
  auto server = std::make_unique<ProcessServer>(
      db.url(), std::vector<std::string>{"--shutdown_grace=5s"});
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, refused{0}, other{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        auto r = server->Record(absl::StrCat("w", w, "-", i), "statistics", true);
        if (r.status.ok()) {
          ++acknowledged;
        } else if (r.status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                   r.status.error_code() == grpc::StatusCode::CANCELLED) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  ASSERT_TRUE(Eventually([&] { return acknowledged >= 50; }));
  const absl::Time sent = absl::Now();
  kill(server->pid(), SIGTERM);
  int status = 0;
  ASSERT_TRUE(Eventually(
      [&] { return waitpid(server->pid(), &status, WNOHANG) == server->pid(); },
      absl::Seconds(20)));
  const absl::Duration took = absl::Now() - sent;
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(took, absl::Seconds(7)) << "grace is 5s";
  EXPECT_EQ(other.load(), 0);
  // Every acknowledged decision is there (some unacknowledged ones may be
  // too: committed as the connection closed).
  EXPECT_GE(db.Count("SELECT count(*) FROM decisions"), acknowledged.load());
  EXPECT_EQ(db.Count("SELECT count(*) FROM decisions"),
            db.Count("SELECT count(*) FROM audit_events WHERE action = 'decision'"));
  server->ForgetProcess();  // Already reaped.
}

TEST(Shutdown, AStalledExportDoesNotHangTheShutdown) {
  TestDatabase db;
  auto server = std::make_unique<ProcessServer>(
      db.url(), std::vector<std::string>{"--shutdown_grace=2s"});
  // Enough events that the export cannot fit in the transport's buffers.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(server->Record(absl::StrCat("s", i), "marketing", true).status.ok());
  }
  ASSERT_TRUE(Eventually(
      [&] { return db.Count("SELECT count(*) FROM audit_unsealed") == 0; }));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto channel = grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", server->port()),
      grpc::InsecureChannelCredentials(), args);
  auto audit = consent::v1::AuditService::NewStub(channel);
  auto context = Context(kSupportToken);
  consent::v1::ExportAuditLogRequest request;
  auto reader = audit->ExportAuditLog(context.get(), request);
  consent::v1::ExportAuditLogResponse first;
  ASSERT_TRUE(reader->Read(&first));  // Then stop reading.

  const absl::Time sent = absl::Now();
  kill(server->pid(), SIGTERM);
  int status = 0;
  ASSERT_TRUE(Eventually(
      [&] { return waitpid(server->pid(), &status, WNOHANG) == server->pid(); },
      absl::Seconds(20)));
  EXPECT_LT(absl::Now() - sent, absl::Seconds(5)) << "grace is 2s";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  context->TryCancel();
  server->ForgetProcess();
}

}  // namespace
}  // namespace consentd::testing
