#include "server/import_file.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/validation.h"
#include "server/codec.h"
#include "storage/audit_keys.h"

namespace consentd {
namespace {

constexpr char kColumns[] =
    "subject, time, choices, policy_version, source, key, region, gpc";

// A row as the file states it, before it becomes a request.
struct RawRow {
  std::string subject;
  std::string time;
  std::vector<std::pair<std::string, bool>> choices;
  std::string policy_version;
  std::string source;
  std::string key;
  std::string region;
  bool gpc = false;
};

std::optional<bool> ParseBool(absl::string_view text) {
  const std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (v == "true" || v == "yes" || v == "1") return true;
  if (v == "false" || v == "no" || v == "0") return false;
  return std::nullopt;
}

// Turns a row into its request; the reason it cannot be one otherwise.
absl::StatusOr<consent::v1::RecordConsentRequest> BuildRequest(
    RawRow row, const std::string& default_policy_version) {
  const std::pair<const std::string*, const char*> texts[] = {
      {&row.subject, "subject"},
      {&row.policy_version, "policy_version"},
      {&row.key, "key"},
      {&row.region, "region"}};
  for (const auto& [value, field] : texts) {
    if (!IsValidUtf8(*value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, " is not valid UTF-8"));
    }
  }
  if (row.subject.empty()) {
    return absl::InvalidArgumentError("subject is missing");
  }
  absl::Time t;
  std::string error;
  if (row.time.empty()) return absl::InvalidArgumentError("time is missing");
  if (!absl::ParseTime(absl::RFC3339_full, row.time, &t, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("time ", Quoted(row.time),
                     " is not an RFC 3339 time like 2025-06-01T12:00:00Z"));
  }
  if (row.choices.empty()) {
    return absl::InvalidArgumentError(
        "choices must name at least one category");
  }
  if (row.policy_version.empty()) row.policy_version = default_policy_version;
  if (row.policy_version.empty()) {
    return absl::InvalidArgumentError(
        "policy_version is missing (give it in the row or pass "
        "--policy_version)");
  }
  const std::string source = absl::AsciiStrToLower(row.source);
  if (!source.empty() && source != "import" && source != "source_import") {
    return absl::InvalidArgumentError(absl::StrCat(
        "source ", Quoted(row.source),
        ": imported decisions are recorded with source import, the only "
        "source that keeps the time a decision was made; leave source empty "
        "or set it to import"));
  }
  consent::v1::RecordConsentRequest r;
  r.set_subject_id(std::move(row.subject));
  r.set_policy_version(std::move(row.policy_version));
  for (auto& [category, granted] : row.choices) {
    (*r.mutable_choices())[category] = granted;
  }
  r.set_source(consent::v1::SOURCE_IMPORT);
  r.set_region(std::move(row.region));
  r.set_gpc(row.gpc);
  // PostgreSQL keeps microseconds: the key and the record agree.
  SetTimestamp(absl::FromUnixMicros(absl::ToUnixMicros(t)),
               r.mutable_recorded_at());
  r.set_idempotency_key(row.key.empty() ? DefaultImportKey(r) : row.key);
  return r;
}

// `statistics=true;marketing=false` (also `,` between pairs).
absl::Status ParseChoiceList(absl::string_view text, RawRow& row) {
  for (absl::string_view pair :
       absl::StrSplit(text, absl::ByAnyChar(";,"), absl::SkipWhitespace())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    const absl::string_view category = absl::StripAsciiWhitespace(kv.first);
    const std::optional<bool> granted = ParseBool(kv.second);
    if (category.empty() || !granted) {
      return absl::InvalidArgumentError(
          absl::StrCat("choices: ", Quoted(pair),
                       " is not CATEGORY=true or CATEGORY=false"));
    }
    row.choices.emplace_back(std::string(category), *granted);
  }
  return absl::OkStatus();
}

absl::StatusOr<RawRow> ParseJsonRow(absl::string_view line) {
  google::protobuf::Struct object;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &object);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad JSON (one object a line): ", std::string(status.message())));
  }
  const auto& fields = object.fields();
  std::vector<std::string> unknown;
  for (const auto& [name, value] : fields) {
    if (!absl::StrContains(absl::StrCat(", ", kColumns, ","),
                           absl::StrCat(", ", name, ","))) {
      unknown.push_back(Quoted(name));
    }
  }
  if (!unknown.empty()) {
    std::sort(unknown.begin(), unknown.end());
    return absl::InvalidArgumentError(
        absl::StrCat("unknown field ", absl::StrJoin(unknown, ", "),
                     " (the fields: ", kColumns, ")"));
  }
  RawRow row;
  const std::pair<const char*, std::string*> strings[] = {
      {"subject", &row.subject},
      {"time", &row.time},
      {"policy_version", &row.policy_version},
      {"source", &row.source},
      {"key", &row.key},
      {"region", &row.region}};
  for (const auto& [name, target] : strings) {
    auto it = fields.find(name);
    if (it == fields.end() || it->second.has_null_value()) continue;
    if (!it->second.has_string_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must be a string"));
    }
    *target = it->second.string_value();
  }
  if (auto it = fields.find("gpc");
      it != fields.end() && !it->second.has_null_value()) {
    if (!it->second.has_bool_value()) {
      return absl::InvalidArgumentError("gpc must be true or false");
    }
    row.gpc = it->second.bool_value();
  }
  auto choices = fields.find("choices");
  if (choices != fields.end() && !choices->second.has_null_value()) {
    if (!choices->second.has_struct_value()) {
      return absl::InvalidArgumentError(
          "choices must be an object like {\"statistics\": true}");
    }
    for (const auto& [category, granted] :
         choices->second.struct_value().fields()) {
      if (!granted.has_bool_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "choices.", Quoted(category), " must be true or false"));
      }
      row.choices.emplace_back(category, granted.bool_value());
    }
    std::sort(row.choices.begin(), row.choices.end());
  }
  return row;
}

// One CSV line split into fields (RFC 4180 quoting within the line);
// nullopt when a quote is not closed.
std::optional<std::vector<std::string>> SplitCsvLine(absl::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c != '"') {
        fields.back() += c;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return std::nullopt;
  return fields;
}

// Which column holds what, from the CSV header.
class CsvColumns {
 public:
  static absl::StatusOr<CsvColumns> FromHeader(absl::string_view header) {
    std::optional<std::vector<std::string>> names = SplitCsvLine(header);
    if (!names) {
      return absl::InvalidArgumentError(
          "line 1 (the CSV header): a quote is "
          "not closed");
    }
    CsvColumns columns;
    columns.count_ = names->size();
    for (size_t i = 0; i < names->size(); ++i) {
      const std::string name =
          absl::AsciiStrToLower(absl::StripAsciiWhitespace((*names)[i]));
      if (!absl::StrContains(absl::StrCat(", ", kColumns, ","),
                             absl::StrCat(", ", name, ","))) {
        return absl::InvalidArgumentError(
            absl::StrCat("line 1 (the CSV header): unknown column ",
                         Quoted(name), " (the columns: ", kColumns, ")"));
      }
      if (!columns.index_.emplace(name, i).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "line 1 (the CSV header): column ", Quoted(name), " twice"));
      }
    }
    for (const char* required : {"subject", "time", "choices"}) {
      if (!columns.index_.contains(required)) {
        return absl::InvalidArgumentError(
            absl::StrCat("line 1 (the CSV header): the column \"", required,
                         "\" is missing (a CSV import file starts with a "
                         "header row naming its columns: ",
                         kColumns, ")"));
      }
    }
    return columns;
  }

  absl::StatusOr<RawRow> Parse(absl::string_view line) const {
    std::optional<std::vector<std::string>> fields = SplitCsvLine(line);
    if (!fields) return absl::InvalidArgumentError("a quote is not closed");
    if (fields->size() != count_) {
      return absl::InvalidArgumentError(
          absl::StrCat("has ", fields->size(), " fields, the header ", count_));
    }
    const auto get = [&](const char* name) -> std::string {
      auto it = index_.find(name);
      return it == index_.end() ? std::string()
                                : std::string(absl::StripAsciiWhitespace(
                                      (*fields)[it->second]));
    };
    RawRow row;
    row.subject = get("subject");
    row.time = get("time");
    row.policy_version = get("policy_version");
    row.source = get("source");
    row.key = get("key");
    row.region = get("region");
    if (const std::string gpc = get("gpc"); !gpc.empty()) {
      const std::optional<bool> value = ParseBool(gpc);
      if (!value) {
        return absl::InvalidArgumentError(
            absl::StrCat("gpc ", Quoted(gpc), " is not true or false"));
      }
      row.gpc = *value;
    }
    if (absl::Status s = ParseChoiceList(get("choices"), row); !s.ok()) {
      return s;
    }
    std::sort(row.choices.begin(), row.choices.end());
    return row;
  }

 private:
  size_t count_ = 0;
  absl::flat_hash_map<std::string, size_t> index_;
};

absl::Time RecordedAt(const ImportRow& row) {
  return FromTimestamp(row.request.recorded_at());
}

enum class Sent { kImported, kPresent, kRejected, kFailed };

}  // namespace

std::string DefaultImportKey(const consent::v1::RecordConsentRequest& request) {
  std::vector<std::pair<std::string, bool>> choices(request.choices().begin(),
                                                    request.choices().end());
  std::sort(choices.begin(), choices.end());
  std::string canonical = request.subject_id();
  // Control characters cannot occur in the fields: '\n' separates them.
  absl::StrAppend(&canonical, "\n",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                   FromTimestamp(request.recorded_at()),
                                   absl::UTCTimeZone()),
                  "\n");
  for (const auto& [category, granted] : choices) {
    absl::StrAppend(&canonical, category, granted ? "=1;" : "=0;");
  }
  absl::StrAppend(&canonical, "\n", request.policy_version());
  return absl::StrCat("import:", Sha256Hex(canonical));
}

absl::StatusOr<ImportFile> ReadImportFile(
    std::istream& in, const std::string& default_policy_version) {
  ImportFile file;
  std::optional<CsvColumns> csv;
  bool format_known = false;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && absl::StartsWith(line, "\xEF\xBB\xBF")) {
      line.erase(0, 3);  // A byte order mark.
    }
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (!format_known) {
      format_known = true;
      if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "{")) {
        file.format = ImportFormat::kNdjson;
      } else {
        file.format = ImportFormat::kCsv;
        absl::StatusOr<CsvColumns> columns = CsvColumns::FromHeader(line);
        if (!columns.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(
              columns.status().message(),
              number == 1 ? "" : absl::StrCat(" (line ", number, ")")));
        }
        csv = *std::move(columns);
        continue;
      }
    }
    absl::StatusOr<RawRow> raw = csv ? csv->Parse(line) : ParseJsonRow(line);
    absl::StatusOr<consent::v1::RecordConsentRequest> request =
        raw.ok() ? BuildRequest(*std::move(raw), default_policy_version)
                 : raw.status();
    if (!request.ok()) {
      file.rejected.push_back(
          RejectedRow{number, std::string(request.status().message())});
      continue;
    }
    file.rows.push_back(ImportRow{number, *std::move(request)});
  }
  return file;
}

ImportSummary RunImport(consent::v1::ConsentService::StubInterface& stub,
                        const std::vector<ImportRow>& rows,
                        const ImportOptions& options) {
  // Each subject's rows, oldest first (ties in file order).
  std::vector<std::vector<const ImportRow*>> chains;
  {
    absl::flat_hash_map<absl::string_view, size_t> chain_of;
    for (const ImportRow& row : rows) {
      auto [it, added] =
          chain_of.try_emplace(row.request.subject_id(), chains.size());
      if (added) chains.emplace_back();
      chains[it->second].push_back(&row);
    }
    for (auto& chain : chains) {
      std::stable_sort(chain.begin(), chain.end(),
                       [](const ImportRow* a, const ImportRow* b) {
                         return RecordedAt(*a) < RecordedAt(*b);
                       });
    }
  }

  absl::Mutex mu;
  size_t next_chain = 0;
  int64_t done = 0;
  bool stop = false;
  ImportSummary summary;

  const auto send = [&](const ImportRow& row) -> std::pair<Sent, std::string> {
    grpc::Status status;
    for (int attempt = 1;; ++attempt) {
      grpc::ClientContext context;
      if (options.prepare) options.prepare(&context);
      consent::v1::RecordConsentResponse response;
      status = stub.RecordConsent(&context, row.request, &response);
      if (status.ok()) {
        return {response.replayed() ? Sent::kPresent : Sent::kImported, ""};
      }
      switch (status.error_code()) {
        case grpc::StatusCode::INVALID_ARGUMENT:
        case grpc::StatusCode::ALREADY_EXISTS:
        case grpc::StatusCode::FAILED_PRECONDITION:
        case grpc::StatusCode::OUT_OF_RANGE:
          return {Sent::kRejected, status.error_message()};
        case grpc::StatusCode::UNAVAILABLE:
        case grpc::StatusCode::DEADLINE_EXCEEDED:
        case grpc::StatusCode::RESOURCE_EXHAUSTED:
        case grpc::StatusCode::ABORTED:
          if (attempt < options.max_attempts) {
            {
              absl::MutexLock lock(&mu);
              if (stop) return {Sent::kFailed, ""};
            }
            absl::SleepFor(options.retry_backoff * (1 << (attempt - 1)));
            continue;
          }
          break;
        default:
          break;
      }
      absl::MutexLock lock(&mu);
      if (summary.failure.ok()) summary.failure = status;
      stop = true;
      return {Sent::kFailed, ""};
    }
  };

  const auto work = [&] {
    while (true) {
      const std::vector<const ImportRow*>* chain;
      {
        absl::MutexLock lock(&mu);
        if (stop || next_chain == chains.size()) return;
        chain = &chains[next_chain++];
      }
      for (const ImportRow* row : *chain) {
        {
          absl::MutexLock lock(&mu);
          if (stop) return;
        }
        auto [sent, reason] = send(*row);
        absl::MutexLock lock(&mu);
        switch (sent) {
          case Sent::kImported:
            ++summary.imported;
            break;
          case Sent::kPresent:
            ++summary.already_present;
            break;
          case Sent::kRejected:
            summary.rejected.push_back(RejectedRow{row->line, reason});
            break;
          case Sent::kFailed:
            return;
        }
        ++done;
      }
    }
  };

  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  const size_t n = std::min<size_t>(std::max(options.parallel, 1),
                                    std::max<size_t>(chains.size(), 1));
  workers.reserve(n);
  for (size_t i = 0; i < n; ++i) workers.emplace_back(work);
  const int64_t total = static_cast<int64_t>(rows.size());
  const auto finished = [&] { return done == total || stop; };
  while (true) {
    mu.Lock();
    const bool over =
        mu.AwaitWithTimeout(absl::Condition(&finished), absl::Seconds(1));
    const int64_t so_far = done;
    mu.Unlock();
    if (over) break;
    if (options.progress) {
      options.progress(ImportProgress{so_far, total, absl::Now() - start});
    }
  }
  for (std::thread& t : workers) t.join();
  summary.not_sent = static_cast<int64_t>(rows.size()) - done;
  std::sort(summary.rejected.begin(), summary.rejected.end(),
            [](const RejectedRow& a, const RejectedRow& b) {
              return a.line < b.line;
            });
  if (options.progress && !rows.empty()) {
    options.progress(ImportProgress{done, total, absl::Now() - start});
  }
  return summary;
}

}  // namespace consentd
