// Bulk import: RecordConsent with recorded_at (an imported decision keeps
// its time), and `consentctl import` against a real server and PostgreSQL.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "consent/v1/audit.grpc.pb.h"
#include "server/codec.h"
#include "tests/integration/process_server.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs consentctl with `args` against 127.0.0.1:`port`, as `token`.
CtlResult RunCtl(int port, const std::string& token,
                 const std::vector<std::string>& args) {
  const std::string dir = ::testing::TempDir();
  const std::string out_path = absl::StrCat(dir, "ctl-", getpid(), ".out");
  const std::string err_path = absl::StrCat(dir, "ctl-", getpid(), ".err");
  std::vector<std::string> argv = {CONSENTCTL_BINARY,
                                   absl::StrCat("--addr=127.0.0.1:", port),
                                   "--token=" + token, "--timeout=60s"};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    std::vector<char*> c_argv;
    for (std::string& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    execv(CONSENTCTL_BINARY, c_argv.data());
    _exit(127);
  }
  CtlResult result;
  int status = 0;
  if (waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  return result;
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

class ImportTest : public IntegrationTest {
 protected:
  static consent::v1::RecordConsentRequest Imported(const std::string& subject,
                                                    absl::Time at,
                                                    bool marketing = true) {
    consent::v1::RecordConsentRequest r;
    r.set_subject_id(subject);
    r.set_policy_version("2026-01-12");
    (*r.mutable_choices())["marketing"] = marketing;
    r.set_source(consent::v1::SOURCE_IMPORT);
    SetTimestamp(at, r.mutable_recorded_at());
    return r;
  }

  Reply<consent::v1::RecordConsentResponse> Record(
      const consent::v1::RecordConsentRequest& r,
      const std::string& token = kAdminToken) {
    Reply<consent::v1::RecordConsentResponse> reply;
    reply.status = server_->consent().RecordConsent(Context(token).get(), r,
                                                    &reply.response);
    return reply;
  }

  int64_t Decisions(const std::string& where = "true") {
    return db_.Count("SELECT count(*) FROM decisions WHERE " + where);
  }

  CtlResult Ctl(const std::vector<std::string>& args,
                const std::string& token = kAdminToken) {
    return RunCtl(server_->port(), token, args);
  }
};

TEST_F(ImportTest, RecordedAtWithoutTheImportSource_InvalidArgumentNamingIt) {
  consent::v1::RecordConsentRequest r =
      Imported("s", Start() - absl::Hours(24));
  r.set_source(consent::v1::SOURCE_BANNER);
  auto reply = Record(r);
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(reply.status.error_message().find("recorded_at"), std::string::npos)
      << reply.status.error_message();
  EXPECT_EQ(Decisions(), 0);
}

TEST_F(ImportTest, RecordedAtNeedsTheAdminRole) {
  auto reply = Record(Imported("s", Start() - absl::Hours(24)), kAppToken);
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(reply.status.error_message().find("admin"), std::string::npos);
  EXPECT_EQ(Decisions(), 0);
  // An app may still record with source import at the server's time.
  consent::v1::RecordConsentRequest now = Imported("s", Start());
  now.clear_recorded_at();
  ASSERT_TRUE(Record(now, kAppToken).status.ok());
}

TEST_F(ImportTest, RecordedAtInTheFutureOrBefore1970_InvalidArgument) {
  for (const absl::Time t :
       {Start() + absl::Minutes(6), absl::FromUnixSeconds(-1)}) {
    auto reply = Record(Imported("s", t));
    EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << Rfc3339(t);
    EXPECT_NE(reply.status.error_message().find("recorded_at"),
              std::string::npos)
        << reply.status.error_message();
  }
  EXPECT_EQ(Decisions(), 0);
  // Clock skew up to 5 minutes is accepted, and kept as it is.
  auto skewed = Record(Imported("s", Start() + absl::Minutes(4)));
  ASSERT_TRUE(skewed.status.ok()) << skewed.status.error_message();
  EXPECT_EQ(FromTimestamp(skewed.response.recorded_at()),
            Start() + absl::Minutes(4));
}

TEST_F(ImportTest, AnImportedDecisionKeepsItsTimeAndExpiresFromIt) {
  const absl::Time at = Start() - absl::Hours(24 * 300) + absl::Microseconds(7);
  auto reply = Record(Imported("imp-1", at));
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(FromTimestamp(reply.response.recorded_at()), at);

  auto state = server_->Get("imp-1");
  ASSERT_TRUE(state.status.ok());
  EXPECT_EQ(FromTimestamp(state.response.decided_at()), at);
  EXPECT_EQ(FromTimestamp(state.response.expires_at()),
            at + absl::Hours(24 * 365));
  EXPECT_EQ(db_.Query("SELECT (extract(epoch FROM recorded_at) * 1000000)"
                      "::bigint FROM decisions WHERE subject_id = 'imp-1'"),
            absl::StrCat(absl::ToUnixMicros(at)));
  EXPECT_EQ(db_.Query("SELECT source FROM decisions"), "import");
  auto audit = consent::v1::AuditService::NewStub(server_->channel());
  consent::v1::GetHistoryRequest history_request;
  history_request.set_subject_id("imp-1");
  consent::v1::GetHistoryResponse history;
  ASSERT_TRUE(
      audit->GetHistory(Context().get(), history_request, &history).ok());
  ASSERT_EQ(history.decisions_size(), 1);
  EXPECT_EQ(FromTimestamp(history.decisions(0).recorded_at()), at);
  EXPECT_EQ(history.decisions(0).source(), consent::v1::SOURCE_IMPORT);
  EXPECT_EQ(history.decisions(0).actor(), "test-admin");

  EXPECT_EQ(server_->Check("imp-1", "ia_mkt_source").response.reason(),
            consent::v1::REASON_GRANTED);
  // 365 days after the decision, not after the import.
  clock_.Advance(absl::Hours(24 * 65) + absl::Seconds(1));
  EXPECT_EQ(server_->Check("imp-1", "ia_mkt_source").response.reason(),
            consent::v1::REASON_EXPIRED);
}

TEST_F(ImportTest, OlderThanTheSubjectsLatestDecision_FailedPrecondition) {
  ASSERT_TRUE(server_->Record("s", {{"marketing", false}}).status.ok());
  auto reply = Record(Imported("s", Start() - absl::Hours(24)));
  EXPECT_EQ(reply.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(reply.status.error_message().find("latest decision"),
            std::string::npos)
      << reply.status.error_message();
  EXPECT_EQ(Decisions(), 1);
  EXPECT_EQ(server_->Check("s", "ia_mkt_source").response.reason(),
            consent::v1::REASON_DENIED);
}

TEST_F(ImportTest, ARetryOfAnEarlierImportIsAReplayEvenWhenOlder) {
  consent::v1::RecordConsentRequest first =
      Imported("s", Start() - absl::Hours(48), true);
  first.set_idempotency_key("row-1");
  consent::v1::RecordConsentRequest second =
      Imported("s", Start() - absl::Hours(24), false);
  second.set_idempotency_key("row-2");
  ASSERT_TRUE(Record(first).status.ok());
  ASSERT_TRUE(Record(second).status.ok());
  auto again = Record(first);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_TRUE(again.response.replayed());
  EXPECT_EQ(again.response.consent_version(), 1);
  // The same key with another time is another decision: ALREADY_EXISTS.
  consent::v1::RecordConsentRequest moved = second;
  SetTimestamp(Start() - absl::Hours(12), moved.mutable_recorded_at());
  EXPECT_EQ(Record(moved).status.error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Decisions(), 2);
}

// `n` NDJSON rows for 2,500 subjects, each with up to four decisions an
// hour apart, the first at `base`.
std::string ManyRows(int n, absl::Time base) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    const int subject = i % 2500;
    const absl::Time t = base + absl::Hours(i / 2500) + absl::Seconds(subject);
    absl::StrAppendFormat(
        &text,
        "{\"subject\": \"imp-%d\", \"time\": \"%s\", \"choices\": "
        "{\"statistics\": %s, \"marketing\": %s}, \"policy_version\": "
        "\"2026-01-12\"}\n",
        subject, Rfc3339(t), i % 2 == 0 ? "true" : "false",
        i % 3 == 0 ? "true" : "false");
  }
  return text;
}

TEST_F(ImportTest, TheSameTenThousandRowFileTwice_TenThousandDecisions) {
  // With /metrics, to see the server batch the calls.
  Config config = TestConfig(db_.url());
  const int metrics_port = FreePort();
  config.metrics_listen = absl::StrCat("127.0.0.1:", metrics_port);
  server_.reset();
  server_ = std::make_unique<TestServer>(config, &clock_);
  const absl::Time base = absl::FromUnixSeconds(1740787200);  // 2025-03-01
  // Lines in reverse: each subject's rows still go oldest first.
  std::string text = ManyRows(10000, base);
  std::vector<std::string> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  std::reverse(lines.begin(), lines.end());
  const std::string path =
      WriteFile("import-10k.ndjson", absl::StrJoin(lines, "\n") + "\n");

  const CtlResult first = Ctl({"import", path});
  EXPECT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("10000 rows"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("imported: 10000, already present: 0, rejected: 0"),
            std::string::npos)
      << first.out;
  EXPECT_EQ(Decisions(), 10000);
  EXPECT_EQ(Decisions("source = 'import' AND actor = 'test-admin'"), 10000);
  // Many calls in flight: the server's group commit wrote them in batches.
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  const double batches =
      MetricValue(metrics, "consentd_write_batch_size_count");
  const double written = MetricValue(metrics, "consentd_write_batch_size_sum");
  EXPECT_EQ(written, 10000);
  EXPECT_GT(written / batches, 2) << batches << " batches";
  std::cout << "[ figures  ] 10,000 rows imported in " << batches
            << " write batches\n";
  EXPECT_EQ(db_.Count("SELECT count(*) FROM subjects"), 2500);
  // Each decision at its file time: imp-7's four rows, an hour apart.
  EXPECT_EQ(db_.Query("SELECT string_agg((extract(epoch FROM recorded_at))"
                      "::bigint::text, ',' ORDER BY consent_version) "
                      "FROM decisions WHERE subject_id = 'imp-7'"),
            absl::StrCat(absl::ToUnixSeconds(base) + 7, ",",
                         absl::ToUnixSeconds(base) + 7 + 3600, ",",
                         absl::ToUnixSeconds(base) + 7 + 7200, ",",
                         absl::ToUnixSeconds(base) + 7 + 10800));
  // The standing choice is the latest row's (imp-8: i = 7508, statistics
  // true, marketing false), though it came first in the file.
  EXPECT_EQ(server_->Check("imp-8", "ia_stats_events").response.reason(),
            consent::v1::REASON_GRANTED);
  EXPECT_EQ(server_->Check("imp-8", "ia_mkt_source").response.reason(),
            consent::v1::REASON_DENIED);

  const CtlResult second = Ctl({"import", path});
  EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("imported: 0, already present: 10000, rejected: 0"),
            std::string::npos)
      << second.out;
  EXPECT_EQ(Decisions(), 10000);
}

TEST_F(ImportTest, BadRowsAreReportedByLineAndTheRestImported) {
  const std::string path = WriteFile(
      "import-bad.csv",
      "subject,time,choices,policy_version,source,key\n"
      "c-1,2025-05-01T10:00:00Z,statistics=true;marketing=false,2026-01-12,"
      "import,\n"
      "c-2,2025-05-01T10:00:00+02:00,marketing=true,2026-01-12,,key-2\n"
      "c-3,not a time,marketing=true,2026-01-12,,\n"
      "c-4,2025-05-01T10:00:00Z,ads=true,2026-01-12,,\n"
      "c-5,2025-05-01T10:00:00Z,necessary=false,2026-01-12,,\n"
      "c-6,2025-05-01T10:00:00Z,marketing=true,1999-01-01,,\n"
      "c-7,2025-05-01T10:00:00Z,marketing,2026-01-12,,\n"
      "c-8,2025-05-02T10:00:00Z,preferences=yes,2026-01-12,,\n");
  const CtlResult r = Ctl({"import", "--parallel=4", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("(CSV): 8 rows"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("imported: 3, already present: 0, rejected: 5"),
            std::string::npos)
      << r.out;
  for (const char* expected :
       {"line 4: time \"not a time\" is not an RFC 3339 time",
        "line 5: choices: policy 2026-01-12 has no category \"ads\"",
        "line 6: choices: \"necessary\" is a required category",
        "line 7: policy_version \"1999-01-01\" is not a published policy",
        "line 8: choices: \"marketing\" is not CATEGORY=true"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos)
        << expected << " not in:\n"
        << r.out;
  }
  EXPECT_EQ(Decisions(), 3);
  EXPECT_EQ(Decisions("subject_id = 'c-2' AND idempotency_key = 'key-2' AND "
                      "recorded_at = '2025-05-01T08:00:00Z'"),
            1);
  // Run again: the good rows are present, the bad ones still rejected.
  const CtlResult again = Ctl({"import", "--json", path});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("\"imported\":0,\"already_present\":3"),
            std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("{\"line\":4,"), std::string::npos) << again.out;
  EXPECT_EQ(Decisions(), 3);
}

TEST_F(ImportTest, ARowOlderThanWhatTheSubjectDecidedSince_IsRejected) {
  ASSERT_TRUE(server_->Record("live-1", {{"marketing", true}}).status.ok());
  const std::string path =
      WriteFile("import-stale.ndjson",
                "{\"subject\": \"live-1\", \"time\": \"2025-05-01T10:00:00Z\", "
                "\"choices\": {\"marketing\": false}, \"policy_version\": "
                "\"2026-01-12\"}\n");
  const CtlResult r = Ctl({"import", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("line 1: recorded_at 2025-05-01T10:00:00Z is before "
                       "the subject's latest decision"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(server_->Check("live-1", "ia_mkt_source").response.reason(),
            consent::v1::REASON_GRANTED);
}

TEST_F(ImportTest, WhenTheCallsFail_ExitThree) {
  const std::string path =
      WriteFile("import-one.ndjson", ManyRows(10, Start() - absl::Hours(24)));
  const CtlResult app = Ctl({"import", path}, kAppToken);
  EXPECT_EQ(app.exit_code, 3) << app.out << app.err;
  EXPECT_NE(app.err.find("PERMISSION_DENIED"), std::string::npos) << app.err;
  const CtlResult nobody = Ctl({"import", path}, "not-a-token");
  EXPECT_EQ(nobody.exit_code, 3) << nobody.out << nobody.err;
  EXPECT_NE(nobody.err.find("UNAUTHENTICATED"), std::string::npos);
  EXPECT_EQ(Decisions(), 0);
}

TEST_F(ImportTest, DryRunReadsTheFileAndSendsNothing) {
  const std::string path =
      WriteFile("import-dry.ndjson",
                ManyRows(3, Start() - absl::Hours(24)) + "{\"subject\": 1}\n");
  const CtlResult r = Ctl({"import", "--dry_run", path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("dry run: 3 rows readable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("line 4: subject must be a string"), std::string::npos)
      << r.out;
  EXPECT_EQ(Decisions(), 0);
}

}  // namespace
}  // namespace consentd::testing
