#include "server/import_file.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/validation.h"
#include "server/codec.h"
#include "server/request_validation.h"

namespace consentd {
namespace {

ImportFile Read(const std::string& text, const std::string& policy = "") {
  std::istringstream in(text);
  absl::StatusOr<ImportFile> file = ReadImportFile(in, policy);
  EXPECT_TRUE(file.ok()) << file.status();
  return file.ok() ? *std::move(file) : ImportFile();
}

absl::Status ReadError(const std::string& text) {
  std::istringstream in(text);
  return ReadImportFile(in, "").status();
}

// The reason line `line` was rejected ("" if it was not).
std::string Reason(const ImportFile& file, int line) {
  for (const RejectedRow& r : file.rejected) {
    if (r.line == line) return r.reason;
  }
  return "";
}

TEST(ReadImportFile, NdjsonRowBecomesAnImportRequest) {
  const ImportFile file = Read(
      R"({"subject": "u-1", "time": "2025-06-01T12:00:00.1234567+02:00", )"
      R"("choices": {"statistics": true, "marketing": false}, )"
      R"("policy_version": "2026-01-12", "source": "import", "key": "k-1", )"
      R"("region": "DE", "gpc": true})"
      "\n");
  ASSERT_EQ(file.format, ImportFormat::kNdjson);
  ASSERT_EQ(file.rows.size(), 1u);
  EXPECT_TRUE(file.rejected.empty());
  const consent::v1::RecordConsentRequest& r = file.rows[0].request;
  EXPECT_EQ(file.rows[0].line, 1);
  EXPECT_EQ(r.subject_id(), "u-1");
  EXPECT_EQ(r.policy_version(), "2026-01-12");
  EXPECT_EQ(r.choices().at("statistics"), true);
  EXPECT_EQ(r.choices().at("marketing"), false);
  EXPECT_EQ(r.source(), consent::v1::SOURCE_IMPORT);
  EXPECT_EQ(r.idempotency_key(), "k-1");
  EXPECT_EQ(r.region(), "DE");
  EXPECT_TRUE(r.gpc());
  // 10:00:00.123456 UTC: truncated to microseconds, as PostgreSQL keeps it.
  EXPECT_EQ(FromTimestamp(r.recorded_at()),
            absl::FromUnixMicros(1748772000123456));
}

TEST(ReadImportFile, CsvWithHeader) {
  const ImportFile file = Read(
      "subject,time,choices,policy_version\r\n"
      "u-1,2025-06-01T10:00:00Z,statistics=true;marketing=no,2026-01-12\r\n"
      "\r\n"
      "\"u,2\",2025-06-02T10:00:00Z,\"marketing=1\",2026-01-12\r\n");
  ASSERT_EQ(file.format, ImportFormat::kCsv);
  ASSERT_EQ(file.rows.size(), 2u)
      << (file.rejected.empty() ? "" : file.rejected[0].reason);
  EXPECT_EQ(file.rows[0].line, 2);
  EXPECT_EQ(file.rows[0].request.choices().at("statistics"), true);
  EXPECT_EQ(file.rows[0].request.choices().at("marketing"), false);
  EXPECT_EQ(file.rows[1].line, 4);
  EXPECT_EQ(file.rows[1].request.subject_id(), "u,2");
  EXPECT_EQ(file.rows[1].request.choices().at("marketing"), true);
  EXPECT_EQ(file.rows[1].request.source(), consent::v1::SOURCE_IMPORT);
}

TEST(ReadImportFile, BadRowsAreRejectedWithTheirLineAndReason) {
  const ImportFile file = Read(
      R"({"subject": "ok", "time": "2025-06-01T10:00:00Z", "choices": {"marketing": true}})"
      "\n"
      R"({"subject": "bad-json", )"
      "\n"
      R"({"subject": "t", "time": "yesterday", "choices": {"marketing": true}})"
      "\n"
      R"({"subject": "c", "time": "2025-06-01T10:00:00Z", "choices": {}})"
      "\n"
      R"({"subject": "x", "time": "2025-06-01T10:00:00Z", "choices": {"marketing": true}, "polcy": "v"})"
      "\n"
      R"({"subject": "s", "time": "2025-06-01T10:00:00Z", "choices": {"marketing": true}, "source": "banner"})"
      "\n"
      R"({"subject": "b", "time": "2025-06-01T10:00:00Z", "choices": {"marketing": "yes"}})"
      "\n"
      R"({"time": "2025-06-01T10:00:00Z", "choices": {"marketing": true}})"
      "\n",
      "2026-01-12");
  ASSERT_EQ(file.rows.size(), 1u);
  EXPECT_EQ(file.rows[0].request.policy_version(), "2026-01-12");  // Default.
  ASSERT_EQ(file.rejected.size(), 7u);
  EXPECT_NE(Reason(file, 2).find("bad JSON"), std::string::npos);
  EXPECT_NE(Reason(file, 3).find("time \"yesterday\" is not an RFC 3339"),
            std::string::npos);
  EXPECT_NE(Reason(file, 4).find("choices must name at least one"),
            std::string::npos);
  EXPECT_NE(Reason(file, 5).find("unknown field \"polcy\""), std::string::npos)
      << Reason(file, 5);
  EXPECT_NE(Reason(file, 6).find("source \"banner\""), std::string::npos);
  EXPECT_NE(Reason(file, 7).find("choices.\"marketing\" must be true or false"),
            std::string::npos)
      << Reason(file, 7);
  EXPECT_NE(Reason(file, 8).find("subject is missing"), std::string::npos);
}

TEST(ReadImportFile, WithoutAPolicyVersionTheRowIsRejected) {
  const ImportFile file =
      Read("subject,time,choices\nu,2025-06-01T10:00:00Z,marketing=true\n");
  EXPECT_TRUE(file.rows.empty());
  EXPECT_NE(Reason(file, 2).find("policy_version is missing"),
            std::string::npos);
}

TEST(ReadImportFile, BadCsvRows) {
  const ImportFile file = Read(
      "subject,time,choices,policy_version\n"
      "a,2025-06-01T10:00:00Z,marketing=true\n"         // 3 fields
      "b,2025-06-01T10:00:00Z,marketing=maybe,v\n"      // bad value
      "\"c,2025-06-01T10:00:00Z,marketing=true,v\n"     // open quote
      "d,2025-06-01,marketing=true,v\n"                 // date only
      "\xff,2025-06-01T10:00:00Z,marketing=true,v\n");  // not UTF-8
  EXPECT_TRUE(file.rows.empty());
  EXPECT_NE(Reason(file, 2).find("has 3 fields, the header 4"),
            std::string::npos);
  EXPECT_NE(Reason(file, 3).find("\"marketing=maybe\" is not CATEGORY=true"),
            std::string::npos);
  EXPECT_NE(Reason(file, 4).find("quote"), std::string::npos);
  EXPECT_NE(Reason(file, 5).find("RFC 3339"), std::string::npos);
  EXPECT_NE(Reason(file, 6).find("subject is not valid UTF-8"),
            std::string::npos);
}

TEST(ReadImportFile, AnUnusableCsvHeaderIsAnError) {
  EXPECT_NE(ReadError("subject,time\nu,2025-06-01T10:00:00Z\n")
                .message()
                .find("the column \"choices\" is missing"),
            std::string::npos);
  EXPECT_NE(ReadError("subject,time,choices,polcy\n")
                .message()
                .find("unknown column \"polcy\""),
            std::string::npos);
  EXPECT_NE(ReadError("subject,time,choices,time\n")
                .message()
                .find("column \"time\" twice"),
            std::string::npos);
}

TEST(DefaultImportKey, SameDecisionSameKey_OtherDecisionOtherKey) {
  const ImportFile file = Read(
      R"({"subject": "u", "time": "2025-06-01T12:00:00+02:00", "choices": {"a": true, "b": false}, "policy_version": "v"})"
      "\n"
      R"({"subject": "u", "time": "2025-06-01T10:00:00Z", "choices": {"b": false, "a": true}, "policy_version": "v"})"
      "\n"
      R"({"subject": "u", "time": "2025-06-01T10:00:01Z", "choices": {"a": true, "b": false}, "policy_version": "v"})"
      "\n"
      R"({"subject": "u", "time": "2025-06-01T10:00:00Z", "choices": {"a": true, "b": true}, "policy_version": "v"})"
      "\n"
      R"({"subject": "u", "time": "2025-06-01T10:00:00Z", "choices": {"a": true, "b": false}, "policy_version": "w"})"
      "\n"
      R"({"subject": "v", "time": "2025-06-01T10:00:00Z", "choices": {"a": true, "b": false}, "policy_version": "v"})"
      "\n");
  ASSERT_EQ(file.rows.size(), 6u);
  const std::string key = file.rows[0].request.idempotency_key();
  EXPECT_EQ(key.substr(0, 7), "import:");
  EXPECT_EQ(key.size(), 7u + 64u);
  EXPECT_EQ(file.rows[1].request.idempotency_key(), key);  // Same instant.
  for (size_t i = 2; i < file.rows.size(); ++i) {
    EXPECT_NE(file.rows[i].request.idempotency_key(), key) << i;
  }
}

TEST(ValidateImportedTime, UpToFiveMinutesAheadAndNotBefore1970) {
  const absl::Time now = absl::FromUnixSeconds(1769904000);
  EXPECT_TRUE(ValidateImportedTime(now, now, "t").ok());
  EXPECT_TRUE(ValidateImportedTime(absl::UnixEpoch(), now, "t").ok());
  EXPECT_TRUE(ValidateImportedTime(now + absl::Minutes(5), now, "t").ok());
  const absl::Status future =
      ValidateImportedTime(now + absl::Minutes(5) + absl::Seconds(1), now, "t");
  EXPECT_EQ(future.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(future.message().find("t 2026-02-01T00:05:01Z is in the future"),
            absl::string_view::npos)
      << future.message();
  EXPECT_EQ(ValidateImportedTime(absl::UnixEpoch() - absl::Seconds(1), now, "t")
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateRecordConsent, RecordedAtOnlyWithTheImportSource) {
  consent::v1::RecordConsentRequest r;
  r.set_subject_id("s");
  r.set_policy_version("v1");
  (*r.mutable_choices())["marketing"] = true;
  r.set_source(consent::v1::SOURCE_IMPORT);
  r.mutable_recorded_at()->set_seconds(1748772000);
  EXPECT_TRUE(ValidateRequest(r).ok());
  r.mutable_recorded_at()->set_nanos(-1);
  EXPECT_NE(ValidateRequest(r).message().find("recorded_at.nanos"),
            absl::string_view::npos);
  r.mutable_recorded_at()->set_nanos(0);
  r.set_source(consent::v1::SOURCE_API);
  const absl::Status s = ValidateRequest(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("recorded_at may be set only with source "
                             "SOURCE_IMPORT"),
            absl::string_view::npos)
      << s.message();
}

}  // namespace
}  // namespace consentd
