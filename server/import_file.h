// Bulk import of decisions made on another platform (`consentctl import`):
// reading an NDJSON or CSV file into RecordConsent requests, and sending
// them with many calls in flight so that the server's group commit batches
// them. Each row becomes a decision with source SOURCE_IMPORT, the time it
// was made (recorded_at) and an idempotency key, so that running the same
// file again adds nothing. The file format is in docs/import.md.
#ifndef CONSENTD_SERVER_IMPORT_FILE_H_
#define CONSENTD_SERVER_IMPORT_FILE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "consent/v1/consent.grpc.pb.h"

namespace consentd {

// One row of the file, ready to send.
struct ImportRow {
  // 1-based line of the file the row is on.
  int line = 0;
  consent::v1::RecordConsentRequest request;
};

// A row that was not imported, and why.
struct RejectedRow {
  int line = 0;
  std::string reason;
};

enum class ImportFormat { kNdjson, kCsv };

// What a file holds: the rows to send and the lines that are not rows.
struct ImportFile {
  ImportFormat format = ImportFormat::kNdjson;
  std::vector<ImportRow> rows;
  // Lines that could not be read as a row (bad JSON, a bad time, ...), in
  // line order.
  std::vector<RejectedRow> rejected;
};

// Reads an import file. NDJSON when the first character that is not white
// space is '{', otherwise CSV with a header row. Blank lines are skipped.
// Each row needs subject, time (RFC 3339) and choices; policy_version may
// come from `default_policy_version` instead; source, key, region and gpc
// are optional (docs/import.md). A row that cannot be read is rejected with
// its line and the reason; the file as a whole is InvalidArgument only when
// the CSV header is unusable (a column missing, unknown or repeated).
absl::StatusOr<ImportFile> ReadImportFile(
    std::istream& in, const std::string& default_policy_version);

// The idempotency key of a row that has none: "import:" and the SHA-256
// (hex) of its subject, time (UTC, microseconds), choices (sorted) and
// policy version, so that the same decision always gets the same key.
std::string DefaultImportKey(const consent::v1::RecordConsentRequest& request);

struct ImportProgress {
  int64_t done = 0;
  int64_t total = 0;
  absl::Duration elapsed;
};

struct ImportOptions {
  // Calls in flight at once (at least 1).
  int parallel = 32;
  // Sets the deadline and credentials of each call.
  std::function<void(grpc::ClientContext*)> prepare;
  // Called about once a second while rows are sent (optional).
  std::function<void(const ImportProgress&)> progress;
  // Tries per row when the server is unavailable, overloaded or the call
  // timed out (each a safe retry: the row's idempotency key makes a repeat
  // a replay).
  int max_attempts = 5;
  // Pause before the first retry; doubles with each.
  absl::Duration retry_backoff = absl::Milliseconds(200);
};

struct ImportSummary {
  int64_t imported = 0;
  // Rows recorded before (by an earlier run): replayed, nothing written.
  int64_t already_present = 0;
  // Rows the server refused (a bad row: INVALID_ARGUMENT, ALREADY_EXISTS,
  // FAILED_PRECONDITION), in line order.
  std::vector<RejectedRow> rejected;
  // Not OK when a call failed for another reason (no credentials, the
  // server away after every retry, ...): the import stopped there.
  grpc::Status failure;
  // Rows not sent because the import stopped.
  int64_t not_sent = 0;
};

// Sends `rows` as RecordConsent calls, `options.parallel` at a time. The
// rows of one subject are sent one after another, oldest first (then in
// file order), because a subject's decisions are recorded in time order;
// different subjects go in parallel. Thread-safe to call; blocks until
// every row is answered or the import stopped.
ImportSummary RunImport(consent::v1::ConsentService::StubInterface& stub,
                        const std::vector<ImportRow>& rows,
                        const ImportOptions& options);

}  // namespace consentd

#endif  // CONSENTD_SERVER_IMPORT_FILE_H_
