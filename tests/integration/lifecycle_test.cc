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
  ASSERT_TRUE(
      server.policy().PublishPolicy(Context().get(), publish, &published).ok());
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  watch_context->TryCancel();
  watch->Finish();
  EXPECT_EQ(Status(server.channel(), ""), HealthCheckResponse::SERVING);
}

TEST(Shutdown, SigtermDrainsWritesAndLosesNothingAcknowledged) {
  TestDatabase db;
  auto server = std::make_unique<ProcessServer>(
      db.url(),
      std::vector<std::string>{"--shutdown_delay=1s", "--shutdown_grace=5s"});
  auto health_channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                          grpc::InsecureChannelCredentials());
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, other{0};
  std::atomic<int64_t> last_ack_micros{0};
  constexpr int kWriters = 6;
  // The subjects each writer had acknowledged (each subject is written once).
  std::vector<std::vector<std::string>> acked(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        const std::string subject = absl::StrCat("w", w, "-", i);
        auto r = server->Record(subject, "statistics", true);
        if (r.status.ok()) {
          EXPECT_EQ(r.response.consent_version(), 1);
          acked[w].push_back(subject);
          ++acknowledged;
          last_ack_micros = absl::ToUnixMicros(absl::Now());
        } else if (r.status.error_code() != grpc::StatusCode::UNAVAILABLE &&
                   r.status.error_code() != grpc::StatusCode::CANCELLED) {
          ++other;
        }
      }
    });
  }
  ASSERT_TRUE(Eventually([&] { return acknowledged >= 50; }));
  const absl::Time sent = absl::Now();
  kill(server->pid(), SIGTERM);
  // During --shutdown_delay health says NOT_SERVING, so load balancers stop
  // sending, while calls still succeed.
  EXPECT_TRUE(Eventually(
      [&] {
        return Status(health_channel, "") == HealthCheckResponse::NOT_SERVING;
      },
      absl::Seconds(1)));
  int status = 0;
  ASSERT_TRUE(Eventually(
      [&] { return waitpid(server->pid(), &status, WNOHANG) == server->pid(); },
      absl::Seconds(20)));
  const absl::Duration took = absl::Now() - sent;
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(took, absl::Seconds(8)) << "delay 1s + grace 5s";
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(absl::FromUnixMicros(last_ack_micros), sent)
      << "no write was acknowledged while draining";
  // Every acknowledged decision is there, by subject (unacknowledged ones
  // may be too: committed as the connection closed).
  std::string list;
  for (const auto& subjects : acked) {
    for (const std::string& subject : subjects) {
      absl::StrAppend(&list, list.empty() ? "'" : ",'", subject, "'");
    }
  }
  EXPECT_EQ(db.Count("SELECT count(*) FROM decisions WHERE consent_version = "
                     "1 AND subject_id IN (" +
                     list + ")"),
            acknowledged.load());
  EXPECT_EQ(
      db.Count("SELECT count(*) FROM decisions"),
      db.Count("SELECT count(*) FROM audit_events WHERE action = 'decision'"));
  server->ForgetProcess();  // Already reaped.
}

TEST(Shutdown, AStalledExportDoesNotHangTheShutdown) {
  TestDatabase db;
  auto server = std::make_unique<ProcessServer>(
      db.url(), std::vector<std::string>{"--shutdown_grace=2s"});
  // Far more than one page (500 events) and than any transport buffer:
  // 20,000 events, about 9 MiB in 40 messages.
  InsertSignedAuditEvents(db.url(), 20000);
  ASSERT_TRUE(Eventually(
      [&] { return db.Count("SELECT count(*) FROM audit_unsealed") == 0; },
      absl::Seconds(60)));
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
  auto channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server->port()),
                                grpc::InsecureChannelCredentials(), args);
  auto audit = consent::v1::AuditService::NewStub(channel);
  auto context = Context(kSupportToken);
  consent::v1::ExportAuditLogRequest request;
  auto reader = audit->ExportAuditLog(context.get(), request);
  consent::v1::ExportAuditLogResponse first;
  ASSERT_TRUE(reader->Read(&first));  // Then stop reading.
  ASSERT_GT(first.events_size(), 0);
  ASSERT_LT(first.events_size(), 20000) << "the export fit in one message";

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
