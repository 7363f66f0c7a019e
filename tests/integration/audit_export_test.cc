// A large audit export through consentctl: 200,000 events stream through a
// consentd process and consentctl into a file, with flat memory on both.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/audit.h"
#include "storage/audit_keys.h"
#include "storage/database.h"
#include "tests/integration/process_server.h"

namespace consentd::testing {
namespace {

constexpr int kEvents = 200000;

// Peak resident memory of a process, in KiB (VmHWM).
int64_t PeakRssKiB(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmHWM:")) {
      int64_t kib = 0;
      (void)absl::SimpleAtoi(
          absl::StripAsciiWhitespace(line.substr(6, line.size() - 6 - 3)),
          &kib);
      return kib;
    }
  }
  return -1;
}

TEST(AuditExport, TwoHundredThousandEventsWithFlatMemory) {
  TestDatabase db;
  ProcessServer server(db.url(), {"--metrics_listen="});
  InsertSignedAuditEvents(db.url(), kEvents);
  ASSERT_TRUE(Eventually(
      [&] { return db.Count("SELECT count(*) FROM audit_unsealed") == 0; },
      absl::Seconds(180)));
  ASSERT_EQ(db.Count("SELECT count(*) FROM audit_chain"), kEvents + 1);

  const int64_t server_before = PeakRssKiB(server.pid());
  const std::string out = ::testing::TempDir() + "audit-export.jsonl";
  const std::string addr = absl::StrCat("--addr=127.0.0.1:", server.port());
  const std::string out_flag = "--out=" + out;
  const std::string token = absl::StrCat("--token=", kSupportToken);
  // consentctl's peak memory for a call that returns almost nothing, and
  // for the whole export.
  int64_t baseline_kib = 0, client_peak_kib = 0;
  for (const bool export_log : {false, true}) {
    const pid_t ctl = fork();
    if (ctl == 0) {
      if (export_log) {
        execl(CONSENTCTL_BINARY, CONSENTCTL_BINARY, addr.c_str(), token.c_str(),
              out_flag.c_str(), "audit", "export", static_cast<char*>(nullptr));
      } else {
        execl(CONSENTCTL_BINARY, CONSENTCTL_BINARY, addr.c_str(), token.c_str(),
              "policy", "list", static_cast<char*>(nullptr));
      }
      _exit(127);
    }
    int status = 0;
    rusage usage{};
    ASSERT_EQ(wait4(ctl, &status, 0, &usage), ctl);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    (export_log ? client_peak_kib : baseline_kib) = usage.ru_maxrss;
  }

  std::ifstream file(out);
  int64_t lines = 0;
  std::string line, last;
  while (std::getline(file, line)) {
    ++lines;
    last = line;
  }
  EXPECT_EQ(lines, kEvents + 1);
  EXPECT_NE(last.find("\"sequence\":\"200001\""), std::string::npos) << last;

  const int64_t server_growth_kib = PeakRssKiB(server.pid()) - server_before;

  // An export cut short mid-line resumes cleanly: the broken line goes, the
  // rest comes once. Resuming reads only the file's tail, however large.
  const uintmax_t file_bytes = std::filesystem::file_size(out);
  std::filesystem::resize_file(out, file_bytes - 100);
  const pid_t again = fork();
  if (again == 0) {
    execl(CONSENTCTL_BINARY, CONSENTCTL_BINARY, addr.c_str(), token.c_str(),
          out_flag.c_str(), "--resume", "audit", "export",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage resume_usage{};
  ASSERT_EQ(wait4(again, &status, 0, &resume_usage), again);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const int64_t resume_peak_kib = resume_usage.ru_maxrss;
  std::ifstream reread(out);
  int64_t lines_after = 0;
  while (std::getline(reread, line)) ++lines_after;
  EXPECT_EQ(lines_after, lines);
  EXPECT_EQ(std::filesystem::file_size(out), file_bytes);

  std::cout << "[ figures  ] exported " << lines << " events ("
            << file_bytes / (1024 * 1024) << " MiB); consentd peak RSS "
            << "grew by " << server_growth_kib / 1024 << " MiB during the "
            << "export; consentctl peak RSS " << client_peak_kib / 1024
            << " MiB (" << baseline_kib / 1024 << " MiB for `policy list`), "
            << resume_peak_kib / 1024 << " MiB resuming from the cut file\n";
  // An export holding everything would need well over 100 MiB: 200,000
  // events of about 700 bytes each, before any per-object overhead; so
  // would a resume that read the whole file.
  EXPECT_LT(server_growth_kib, 32 * 1024);
  EXPECT_LT(client_peak_kib - baseline_kib, 32 * 1024);
  EXPECT_LT(resume_peak_kib - baseline_kib, 32 * 1024);
}

}  // namespace
}  // namespace consentd::testing
