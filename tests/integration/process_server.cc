#include "tests/integration/process_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace consentd::testing {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: localhost\r\n\r\n");
  if (write(fd, request.data(), request.size()) < 0) {
    close(fd);
    return "";
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) response.append(buffer, n);
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

double MetricValue(const std::string& exposition, const std::string& metric) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (absl::StartsWith(line, metric + " ")) {
      double value;
      if (absl::SimpleAtod(line.substr(metric.size() + 1), &value))
        return value;
    }
  }
  return -1;
}

bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(10));  // Between polls, not to wait.
  }
  return condition();
}

ProcessServer::ProcessServer(const std::string& db_url,
                             std::vector<std::string> flags) {
  port_ = FreePort();
  metrics_port_ = FreePort();
  log_path_ = absl::StrCat(::testing::TempDir(), "consentd-", getpid(), "-",
                           port_, ".log");
  const std::string keys_path = absl::StrCat(log_path_, ".keys");
  std::ofstream(keys_path)
      << "test "
      << "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      << "\n";
  tokens_path_ = absl::StrCat(log_path_, ".tokens");
  std::ofstream(tokens_path_) << TestTokensFile();
  std::vector<std::string> args = {
      CONSENTD_BINARY,
      absl::StrCat("--listen=127.0.0.1:", port_),
      absl::StrCat("--metrics_listen=127.0.0.1:", metrics_port_),
      "--database_url=" + db_url,
      "--bootstrap_policy=" CONSENTD_SOURCE_DIR
      "/config/policies/2026-01-12.json",
      "--db_pool_size=4",
      "--audit_key_file=" + keys_path,
      "--auth_tokens_file=" + tokens_path_};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ == 0) {
    const int log = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Retry connecting quickly while the process starts.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  channel_ = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                       grpc::InsecureChannelCredentials(),
                                       channel_args);
  consent_ = consent::v1::ConsentService::NewStub(channel_);
  policy_ = consent::v1::PolicyService::NewStub(channel_);
  auto health = grpc::health::v1::Health::NewStub(channel_);
  const bool up = Eventually(
      [&] {
        grpc::ClientContext context;
        context.set_deadline(
            absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
        context.set_wait_for_ready(true);
        grpc::health::v1::HealthCheckResponse response;
        return health
                   ->Check(&context, grpc::health::v1::HealthCheckRequest(),
                           &response)
                   .ok() &&
               response.status() ==
                   grpc::health::v1::HealthCheckResponse::SERVING;
      },
      absl::Seconds(30));
  EXPECT_TRUE(up) << "consentd did not come up:\n" << Log();
}

ProcessServer::~ProcessServer() {
  if (pid_ <= 0) return;
  // Close this client's connection first, as a departing client would.
  consent_.reset();
  policy_.reset();
  channel_.reset();
  kill(pid_, SIGTERM);
  int status = 0;
  const bool exited =
      Eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; },
                 absl::Seconds(20));
  if (!exited) {
    ADD_FAILURE() << "consentd did not stop on SIGTERM:\n" << Log();
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "consentd exit status " << status << ":\n"
        << Log();
  }
}

std::string ProcessServer::Log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Reply<consent::v1::CheckCookieResponse> ProcessServer::Check(
    const std::string& subject, const std::string& cookie,
    int64_t min_consent_version) {
  consent::v1::CheckCookieRequest request;
  request.set_subject_id(subject);
  request.set_cookie_name(cookie);
  request.set_min_consent_version(min_consent_version);
  Reply<consent::v1::CheckCookieResponse> reply;
  reply.status =
      consent_->CheckCookie(Context().get(), request, &reply.response);
  return reply;
}

Reply<consent::v1::RecordConsentResponse> ProcessServer::Record(
    const std::string& subject, const std::string& category, bool granted,
    const std::string& idempotency_key, int64_t expected_version) {
  consent::v1::RecordConsentRequest request;
  request.set_subject_id(subject);
  request.set_policy_version("2026-01-12");
  (*request.mutable_choices())[category] = granted;
  request.set_source(consent::v1::SOURCE_API);
  request.set_idempotency_key(idempotency_key);
  request.set_expected_version(expected_version);
  Reply<consent::v1::RecordConsentResponse> reply;
  reply.status =
      consent_->RecordConsent(Context().get(), request, &reply.response);
  return reply;
}

}  // namespace consentd::testing
