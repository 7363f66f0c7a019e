// A consentd process (the real binary) for tests that need several replicas
// on one database, as production runs them.
#ifndef CONSENTD_TESTS_INTEGRATION_PROCESS_SERVER_H_
#define CONSENTD_TESTS_INTEGRATION_PROCESS_SERVER_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "consent/v1/consent.grpc.pb.h"
#include "consent/v1/policy.grpc.pb.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// GET `path` from 127.0.0.1:`port`; the body, or "" on failure.
std::string HttpGet(int port, const std::string& path);

// The value of the first sample of `metric` (exact name and labels) in a
// Prometheus text exposition, or -1.
double MetricValue(const std::string& exposition, const std::string& metric);

// Polls `condition` until it holds or `timeout` passes; true if it held.
bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout = absl::Seconds(15));

class ProcessServer {
 public:
  // Starts consentd on `db_url` with the seed policy and `flags`, and waits
  // (with a deadline) until it answers health checks.
  ProcessServer(const std::string& db_url, std::vector<std::string> flags = {});
  // SIGTERM, then waits for the exit.
  ~ProcessServer();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  // The tokens file the process reads (on start and on SIGHUP).
  const std::string& tokens_path() const { return tokens_path_; }
  consent::v1::ConsentService::Stub& consent() { return *consent_; }
  consent::v1::PolicyService::Stub& policy() { return *policy_; }

  Reply<consent::v1::CheckCookieResponse> Check(
      const std::string& subject, const std::string& cookie,
      int64_t min_consent_version = 0);
  Reply<consent::v1::RecordConsentResponse> Record(
      const std::string& subject, const std::string& category, bool granted,
      const std::string& idempotency_key = "", int64_t expected_version = 0);

  // The process's log so far.
  std::string Log() const;

  // The test reaped the process itself: the destructor has nothing to stop.
  void ForgetProcess() { pid_ = -1; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string log_path_;
  std::string tokens_path_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<consent::v1::ConsentService::Stub> consent_;
  std::unique_ptr<consent::v1::PolicyService::Stub> policy_;
};

}  // namespace consentd::testing

#endif  // CONSENTD_TESTS_INTEGRATION_PROCESS_SERVER_H_
