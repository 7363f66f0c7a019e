// consentctl: a command-line client for consentd, so a person can try and
// operate the service without writing code. Run `consentctl --help`.
//
// Exit codes: 0 success (for `check`: every cookie allowed), 1 `check`
// answered denied for some cookie (`audit verify`: not intact; `import`:
// some rows rejected), 2 usage error, 3 the call failed.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "consent/v1/audit.grpc.pb.h"
#include "consent/v1/consent.grpc.pb.h"
#include "consent/v1/policy.grpc.pb.h"
#include "core/json_text.h"
#include "server/codec.h"
#include "server/import_file.h"

ABSL_FLAG(std::string, addr, "",
          "consentd address (default $CONSENTD_ADDR or localhost:50051).");
ABSL_FLAG(std::string, token, "", "Bearer token (default $CONSENTD_TOKEN).");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "Deadline per call.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle to verify consentd's certificate: connect with TLS.");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mutual TLS).");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert.");
ABSL_FLAG(bool, json, false, "Print responses as protobuf JSON.");
ABSL_FLAG(bool, wait_for_ready, false,
          "Wait (up to --timeout) for consentd to come up instead of failing "
          "at once when it is not reachable.");
ABSL_FLAG(std::string, region, "", "Region, e.g. DE or US-CA.");
ABSL_FLAG(bool, gpc, false,
          "The request carries a Global Privacy Control signal.");
ABSL_FLAG(int64_t, min_consent_version, 0,
          "check/get: never answer from an older version (read-your-writes).");
ABSL_FLAG(std::string, source, "api",
          "record: banner, preferences_center, api, support or import.");
ABSL_FLAG(std::string, policy_version, "",
          "record: the policy the subject saw (default: the current one); "
          "get: evaluate under this policy instead of the current one; "
          "import: the policy of rows that do not name one.");
ABSL_FLAG(std::string, idempotency_key, "", "record: idempotency key.");
ABSL_FLAG(std::string, as_of, "",
          "check, get: answer as of this time (2026-03-01 or "
          "2026-03-01T12:00:00Z), from the decisions and the policy of then.");
ABSL_FLAG(int64_t, expected_version, 0,
          "record: fail with ABORTED unless the subject is at this version.");
ABSL_FLAG(
    std::string, user_agent, "",
    "record: the subject's user agent (the audit log keeps a keyed hash).");
ABSL_FLAG(
    std::string, ip, "",
    "record: the subject's IP address (the audit log keeps a keyed hash).");
ABSL_FLAG(std::string, subject, "",
          "audit export: only this subject's events.");
ABSL_FLAG(std::string, since, "",
          "audit export: events recorded at or after this time (RFC 3339 or "
          "YYYY-MM-DD, UTC).");
ABSL_FLAG(std::string, until, "",
          "audit export: events recorded before this time.");
ABSL_FLAG(std::string, format, "jsonl", "audit export: jsonl or csv.");
ABSL_FLAG(std::string, out, "",
          "audit export: write to this file (default stdout).");
ABSL_FLAG(int64_t, after_sequence, 0,
          "audit export: start after this sequence.");
ABSL_FLAG(bool, resume, false,
          "audit export: continue the export in --out after its last event.");
ABSL_FLAG(bool, yes, false, "subject erase: confirm the erasure.");
ABSL_FLAG(std::string, merge_rule, "most_recent",
          "link: most_recent (per category, the later choice) or "
          "most_restrictive (a refusal on either side wins).");
ABSL_FLAG(std::string, after_cursor, "",
          "watch: resume after this cursor (the last one printed).");
ABSL_FLAG(bool, from_now, false,
          "watch: only changes from now on (without --after_cursor).");
ABSL_FLAG(int64_t, count, 0, "watch: stop after this many changes (0: never).");
ABSL_FLAG(bool, dry_run, false,
          "policy publish: validate and report what would change; publish "
          "nothing. import: read the file and report bad rows; send nothing.");
ABSL_FLAG(int, parallel, 32,
          "import: calls in flight at once (the server batches them).");

namespace consentd {
namespace {

constexpr int kExitDenied = 1;
constexpr int kExitUsage = 2;
constexpr int kExitFailed = 3;

constexpr char kUsage[] = R"(a command-line client for consentd.

Usage: consentctl [flags] COMMAND ARGS...

  check SUBJECT COOKIE [COOKIE...]   may these cookies be set? (exit 0: all
                                     allowed, 1: some denied; --as_of T:
                                     what the answer was then)
  record SUBJECT CATEGORY=true|false [...]
                                     record a decision (yes/no and 1/0 work
                                     too)
  get SUBJECT                        the subject's state per category, and
                                     its Google Consent Mode signals
                                     (--as_of T: then; --policy_version V:
                                     under another policy)
  policy publish FILE                publish a policy (protobuf JSON)
  policy publish --dry_run FILE      validate it and report what publishing
                                     would change (cookies, re-consent, lint)
  policy get [VERSION]               print a policy (default: current)
  policy list                        list published policies
  link DEVICE ACCOUNT [--merge_rule=most_recent|most_restrictive]
                                     the account takes the device's
                                     decisions; the device answers from it
  unlink DEVICE                      end a link
  watch [--after_cursor=C] [--from_now] [--count=N]
                                     follow committed changes, one JSON line
                                     each (resume with the last "cursor")
  history SUBJECT                    every decision of a subject
  audit export [--subject S] [--since T] [--until T] [--format jsonl|csv]
               [--out FILE [--resume]]
                                     the sealed audit log (progress on stderr)
  audit verify                       check that the audit log is intact
  subject export SUBJECT             everything held about a subject (JSON)
  subject erase SUBJECT --yes        erase a subject (keeps pseudonymous proof)
  import FILE [--parallel N] [--policy_version V] [--dry_run]
                                     import decisions from another platform
                                     (NDJSON or CSV; docs/import.md); exit 1
                                     if some rows were rejected

Examples:
  consentctl record user-42 statistics=true marketing=false
  consentctl check user-42 ia_stats_events refreshToken
  consentctl --region=US-CA --gpc check user-42 ia_mkt_source
  consentctl --as_of=2026-03-01 check user-42 ia_mkt_source
  consentctl policy publish --dry_run config/policies/2026-01-12.json
  consentctl import decisions.ndjson

Connection: --addr (or CONSENTD_ADDR, default localhost:50051) and --token
(or CONSENTD_TOKEN: the token itself, without "Bearer"); TLS with --tls_ca.
Every flag: consentctl --helpfull.
Exit codes: 0 ok, 1 denied (check), not intact (audit verify) or rows
rejected (import), 2 usage, 3 the call failed.)";

int Usage(const std::string& message) {
  std::cerr << "consentctl: " << message << "\n"
            << "Run consentctl --help for usage.\n";
  return kExitUsage;
}

std::string EnvOr(const std::string& flag, const char* var,
                  const char* fallback) {
  if (!flag.empty()) return flag;
  const char* value = std::getenv(var);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// No flow-control window growth: a long export then holds a bounded amount
// of unread data in memory, whatever its size.
grpc::ChannelArguments ChannelArguments() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  return args;
}

std::string ReadFileOrEmpty(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path);
  if (!in) {
    std::cerr << "consentctl: cannot read " << path << "\n";
    std::exit(kExitUsage);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A token as given, without a "Bearer " a user may have copied with it.
std::string BareToken(std::string token) {
  if (token.size() > 7 &&
      absl::EqualsIgnoreCase(token.substr(0, 7), "bearer ")) {
    token = token.substr(7);
  }
  return token;
}

// TLS when --tls_ca is given (with a client certificate for mutual TLS).
std::shared_ptr<grpc::ChannelCredentials> Credentials() {
  if (absl::GetFlag(FLAGS_tls_ca).empty()) {
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFileOrEmpty(absl::GetFlag(FLAGS_tls_ca));
  options.pem_cert_chain = ReadFileOrEmpty(absl::GetFlag(FLAGS_tls_cert));
  options.pem_private_key = ReadFileOrEmpty(absl::GetFlag(FLAGS_tls_key));
  return grpc::SslCredentials(options);
}

class Client {
 public:
  Client()
      : channel_(
            grpc::CreateCustomChannel(EnvOr(absl::GetFlag(FLAGS_addr),
                                            "CONSENTD_ADDR", "localhost:50051"),
                                      Credentials(), ChannelArguments())),
        consent_(consent::v1::ConsentService::NewStub(channel_)),
        policy_(consent::v1::PolicyService::NewStub(channel_)),
        audit_(consent::v1::AuditService::NewStub(channel_)),
        token_(BareToken(
            EnvOr(absl::GetFlag(FLAGS_token), "CONSENTD_TOKEN", ""))) {}

  void Prepare(grpc::ClientContext* context) const {
    context->set_deadline(
        absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_timeout)));
    context->set_wait_for_ready(absl::GetFlag(FLAGS_wait_for_ready));
    if (!token_.empty()) {
      context->AddMetadata("authorization", "Bearer " + token_);
    }
  }

  consent::v1::ConsentService::Stub& consent() { return *consent_; }
  consent::v1::PolicyService::Stub& policy() { return *policy_; }
  consent::v1::AuditService::Stub& audit() { return *audit_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<consent::v1::ConsentService::Stub> consent_;
  std::unique_ptr<consent::v1::PolicyService::Stub> policy_;
  std::unique_ptr<consent::v1::AuditService::Stub> audit_;
  std::string token_;
};

int Failed(const grpc::Status& status) {
  static const char* const kCodes[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int code = status.error_code();
  std::cerr << "consentctl: "
            << (code >= 0 && code <= 16 ? kCodes[code] : "UNKNOWN") << ": "
            << status.error_message() << "\n";
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    std::cerr << "consentctl: set CONSENTD_TOKEN (or pass --token) to a token "
                 "from consentd's --auth_tokens_file, without \"Bearer\"\n";
  }
  return kExitFailed;
}

void PrintJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
}

std::string Name(const google::protobuf::EnumDescriptor* type, int value,
                 absl::string_view prefix) {
  const google::protobuf::EnumValueDescriptor* v =
      type->FindValueByNumber(value);
  if (v == nullptr) return absl::StrCat(value);
  std::string name = v->name();
  if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return name;
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromTimestamp(ts),
                          absl::UTCTimeZone());
}

void PrintCheck(const std::string& cookie,
                const consent::v1::CheckCookieResponse& r) {
  std::cout << cookie << ": " << (r.allowed() ? "allowed" : "denied")
            << "  category=" << (r.category().empty() ? "-" : r.category())
            << " reason="
            << Name(consent::v1::Reason_descriptor(), r.reason(), "REASON_")
            << " max_age=" << r.max_age_seconds() << "s lifetime="
            << Name(consent::v1::CookieLifetime_descriptor(), r.lifetime(),
                    "LIFETIME_")
            << " consent_version=" << r.consent_version()
            << " policy=" << r.policy_version() << "\n";
}

absl::StatusOr<absl::Time> ParseWhen(const std::string& text);

// Sets `out` from --as_of when given; false (after printing why) when it
// does not parse.
bool AsOfFlag(google::protobuf::Timestamp* out, bool* set) {
  *set = false;
  const std::string text = absl::GetFlag(FLAGS_as_of);
  if (text.empty()) return true;
  absl::StatusOr<absl::Time> t = ParseWhen(text);
  if (!t.ok()) {
    Usage(absl::StrCat("--as_of: ", t.status().message()));
    return false;
  }
  SetTimestamp(*t, out);
  *set = true;
  return true;
}

int Check(Client& client, const std::vector<char*>& args) {
  if (args.size() < 3) return Usage("check needs SUBJECT and COOKIE");
  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::CheckCookiesRequest request;
  request.set_subject_id(args[1]);
  for (size_t i = 2; i < args.size(); ++i) request.add_cookie_names(args[i]);
  request.set_region(absl::GetFlag(FLAGS_region));
  request.set_gpc(absl::GetFlag(FLAGS_gpc));
  request.set_min_consent_version(absl::GetFlag(FLAGS_min_consent_version));
  bool as_of = false;
  if (!AsOfFlag(request.mutable_as_of(), &as_of)) return kExitUsage;
  if (!as_of) request.clear_as_of();
  consent::v1::CheckCookiesResponse response;
  grpc::Status status;
  if (request.cookie_names_size() == 1) {
    // One cookie: the RPC app backends call on every request. The answer is
    // printed as CheckCookies' would be.
    consent::v1::CheckCookieRequest one;
    one.set_subject_id(request.subject_id());
    one.set_cookie_name(request.cookie_names(0));
    one.set_region(request.region());
    one.set_gpc(request.gpc());
    one.set_min_consent_version(request.min_consent_version());
    if (request.has_as_of()) *one.mutable_as_of() = request.as_of();
    status =
        client.consent().CheckCookie(&context, one, response.add_results());
  } else {
    status = client.consent().CheckCookies(&context, request, &response);
  }
  if (!status.ok()) return Failed(status);
  bool all_allowed = true;
  if (absl::GetFlag(FLAGS_json)) PrintJson(response);
  for (int i = 0; i < response.results_size(); ++i) {
    if (!absl::GetFlag(FLAGS_json)) {
      PrintCheck(request.cookie_names(i), response.results(i));
    }
    all_allowed = all_allowed && response.results(i).allowed();
  }
  return all_allowed ? 0 : kExitDenied;
}

absl::StatusOr<std::string> CurrentPolicyVersion(Client& client) {
  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::Policy policy;
  grpc::Status status = client.policy().GetPolicy(
      &context, consent::v1::GetPolicyRequest(), &policy);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }
  return policy.version();
}

int Record(Client& client, const std::vector<char*>& args) {
  if (args.size() < 3) {
    return Usage("record needs SUBJECT and at least one CATEGORY=true|false");
  }
  consent::v1::RecordConsentRequest request;
  request.set_subject_id(args[1]);
  for (size_t i = 2; i < args.size(); ++i) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(args[i], absl::MaxSplits('=', 1));
    bool granted;
    if (kv.second == "true" || kv.second == "yes" || kv.second == "1") {
      granted = true;
    } else if (kv.second == "false" || kv.second == "no" || kv.second == "0") {
      granted = false;
    } else {
      return Usage(absl::StrCat("\"", args[i],
                                "\" is not CATEGORY=true or CATEGORY=false"));
    }
    (*request.mutable_choices())[kv.first] = granted;
  }
  const std::string source = absl::GetFlag(FLAGS_source);
  const google::protobuf::EnumValueDescriptor* value =
      consent::v1::ConsentSource_descriptor()->FindValueByName(
          "SOURCE_" + absl::AsciiStrToUpper(source));
  if (value == nullptr || value->number() == 0) {
    return Usage(absl::StrCat("--source=", source,
                              " is not banner, preferences_center, api, "
                              "support or import"));
  }
  request.set_source(static_cast<consent::v1::ConsentSource>(value->number()));
  std::string version = absl::GetFlag(FLAGS_policy_version);
  if (version.empty()) {
    absl::StatusOr<std::string> current = CurrentPolicyVersion(client);
    if (!current.ok()) {
      return Failed(
          grpc::Status(static_cast<grpc::StatusCode>(current.status().code()),
                       absl::StrCat("cannot find the current policy: ",
                                    current.status().message())));
    }
    version = *current;
  }
  request.set_policy_version(version);
  request.set_region(absl::GetFlag(FLAGS_region));
  request.set_gpc(absl::GetFlag(FLAGS_gpc));
  request.set_idempotency_key(absl::GetFlag(FLAGS_idempotency_key));
  request.set_expected_version(absl::GetFlag(FLAGS_expected_version));
  request.mutable_context()->set_user_agent(absl::GetFlag(FLAGS_user_agent));
  request.mutable_context()->set_ip_address(absl::GetFlag(FLAGS_ip));

  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::RecordConsentResponse response;
  grpc::Status status =
      client.consent().RecordConsent(&context, request, &response);
  if (!status.ok()) return Failed(status);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(response);
  } else {
    std::cout << (response.replayed() ? "replayed" : "recorded")
              << " consent_version=" << response.consent_version()
              << " policy=" << version
              << " recorded_at=" << FormatTime(response.recorded_at()) << "\n";
  }
  return 0;
}

int Get(Client& client, const std::vector<char*>& args) {
  if (args.size() != 2) return Usage("get needs SUBJECT");
  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::GetConsentRequest request;
  request.set_subject_id(args[1]);
  request.set_region(absl::GetFlag(FLAGS_region));
  request.set_gpc(absl::GetFlag(FLAGS_gpc));
  request.set_min_consent_version(absl::GetFlag(FLAGS_min_consent_version));
  request.set_policy_version(absl::GetFlag(FLAGS_policy_version));
  bool as_of = false;
  if (!AsOfFlag(request.mutable_as_of(), &as_of)) return kExitUsage;
  if (!as_of) request.clear_as_of();
  consent::v1::GetConsentResponse r;
  grpc::Status status = client.consent().GetConsent(&context, request, &r);
  if (!status.ok()) return Failed(status);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(r);
    return 0;
  }
  std::cout << "subject " << args[1]
            << ": consent_version=" << r.consent_version();
  if (r.consent_version() > 0) {
    std::cout << " decided under policy " << r.policy_version() << " at "
              << FormatTime(r.decided_at());
  }
  std::vector<std::string> undecided;
  for (const consent::v1::CategoryConsent& c : r.categories()) {
    if (c.state() != consent::v1::STATE_ALWAYS_ON &&
        c.state() != consent::v1::STATE_GRANTED &&
        c.state() != consent::v1::STATE_DENIED) {
      undecided.push_back(c.category());
    }
  }
  std::cout << "\ncurrent policy " << r.current_policy_version()
            << (r.banner_required()
                    ? "; banner required (no valid decision for: " +
                          absl::StrJoin(undecided, ", ") + ")"
                    : "; no banner needed");
  if (r.has_expires_at())
    std::cout << "; expires " << FormatTime(r.expires_at());
  std::cout << "\n";
  for (const consent::v1::CategoryConsent& c : r.categories()) {
    std::cout << "  " << c.category() << ": "
              << Name(consent::v1::CategoryState_descriptor(), c.state(),
                      "STATE_")
              << (c.allowed() ? " (allowed)" : " (denied)");
    if (c.has_decided_at())
      std::cout << " decided " << FormatTime(c.decided_at());
    std::cout << "\n";
  }
  if (!r.consent_mode_signals().empty()) {
    // In the order of Google's documentation, not the map's.
    std::vector<std::string> signals;
    for (const char* name : {"ad_storage", "ad_user_data", "ad_personalization",
                             "analytics_storage", "functionality_storage",
                             "personalization_storage", "security_storage"}) {
      auto it = r.consent_mode_signals().find(name);
      if (it == r.consent_mode_signals().end()) continue;
      signals.push_back(
          absl::StrCat(name, "=", it->second ? "granted" : "denied"));
    }
    std::cout << "consent mode: " << absl::StrJoin(signals, " ") << "\n";
  }
  return 0;
}

std::string DescribeCookie(const consent::v1::Cookie& k) {
  std::string lifetime =
      Name(consent::v1::CookieLifetime_descriptor(), k.lifetime(), "LIFETIME_");
  if (k.lifetime() == consent::v1::LIFETIME_FIXED) {
    absl::StrAppend(&lifetime, " ",
                    k.duration_seconds() % 86400 == 0
                        ? absl::StrCat(k.duration_seconds() / 86400, "d")
                        : absl::StrCat(k.duration_seconds(), "s"));
  }
  return absl::StrCat(k.name(), " (", k.category(), ", ", lifetime, ")");
}

// The report of `policy publish --dry_run`, for people.
void PrintDryRun(const consent::v1::PublishPolicyResponse& r) {
  const consent::v1::PolicyChangeReport& d = r.dry_run();
  std::cout << "dry run of policy " << r.version() << ": valid; nothing was "
            << "published\n";
  if (d.already_published()) {
    std::cout << "already published with this content: publishing it again "
                 "is a no-op\n";
  } else if (d.current_version().empty()) {
    std::cout << "no policy is published yet: it would become the first\n";
  } else {
    std::cout << "compared with the current policy " << d.current_version()
              << ":\n";
  }
  const auto section = [](const std::string& title, int count) {
    std::cout << "  " << title << ":" << (count == 0 ? " none" : "") << "\n";
  };
  if (!d.already_published()) {
    section("cookies changing category", d.category_changes_size());
    for (const consent::v1::CookieCategoryChange& c : d.category_changes()) {
      std::cout << "    " << c.cookie() << ": " << c.from_category() << " -> "
                << c.to_category() << "\n";
    }
    section("cookies added", d.cookies_added_size());
    for (const consent::v1::Cookie& k : d.cookies_added()) {
      std::cout << "    + " << DescribeCookie(k) << "\n";
    }
    section("cookies removed", d.cookies_removed_size());
    for (const consent::v1::Cookie& k : d.cookies_removed()) {
      std::cout << "    - " << DescribeCookie(k) << "\n";
    }
    if (d.categories_added_size() > 0 || d.categories_removed_size() > 0) {
      std::cout << "  categories added: "
                << (d.categories_added().empty()
                        ? "none"
                        : absl::StrJoin(d.categories_added(), ", "))
                << "; removed: "
                << (d.categories_removed().empty()
                        ? "none"
                        : absl::StrJoin(d.categories_removed(), ", "))
                << "\n";
    }
    if (d.reconsent_categories().empty()) {
      std::cout << "  re-consent: none (existing decisions keep counting)\n";
    } else {
      std::cout << "  re-consent: "
                << absl::StrJoin(d.reconsent_categories(), ", ")
                << "; subjects who would be asked again: "
                << d.subjects_to_reconsent() << "\n";
      for (const consent::v1::ReconsentImpact& i : d.reconsent_impact()) {
        std::cout << "    " << i.category() << ": " << i.subjects_granted()
                  << " with a grant, " << i.subjects_denied()
                  << " with a refusal\n";
      }
    }
  }
  section("lint findings", d.findings_size());
  for (const consent::v1::LintFinding& f : d.findings()) {
    std::cout << "    " << f.code() << " "
              << (f.cookie().empty() ? f.category()
                                     : f.cookie() + " (" + f.category() + ")")
              << ": " << f.message() << "\n";
  }
}

int Policy(Client& client, const std::vector<char*>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (verb == "publish") {
    if (args.size() != 3) return Usage("policy publish needs FILE");
    absl::StatusOr<consent::v1::Policy> policy = ReadPolicyFile(args[2]);
    if (!policy.ok()) return Usage(std::string(policy.status().message()));
    grpc::ClientContext context;
    client.Prepare(&context);
    consent::v1::PublishPolicyRequest request;
    *request.mutable_policy() = *std::move(policy);
    request.set_validate_only(absl::GetFlag(FLAGS_dry_run));
    consent::v1::PublishPolicyResponse r;
    grpc::Status status = client.policy().PublishPolicy(&context, request, &r);
    if (!status.ok()) return Failed(status);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(r);
    } else if (request.validate_only()) {
      PrintDryRun(r);
    } else {
      std::cout << (r.created() ? "published policy "
                                : "already published: policy ")
                << r.version() << " at " << FormatTime(r.published_at())
                << "\n";
    }
    return 0;
  }
  if (verb == "get") {
    if (args.size() > 3) return Usage("policy get takes at most a VERSION");
    grpc::ClientContext context;
    client.Prepare(&context);
    consent::v1::GetPolicyRequest request;
    if (args.size() == 3) request.set_version(args[2]);
    consent::v1::Policy r;
    grpc::Status status = client.policy().GetPolicy(&context, request, &r);
    if (!status.ok()) return Failed(status);
    PrintJson(r);
    return 0;
  }
  if (verb == "list") {
    grpc::ClientContext context;
    client.Prepare(&context);
    consent::v1::ListPoliciesResponse r;
    grpc::Status status = client.policy().ListPolicies(
        &context, consent::v1::ListPoliciesRequest(), &r);
    if (!status.ok()) return Failed(status);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(r);
      return 0;
    }
    for (const consent::v1::PolicySummary& p : r.policies()) {
      std::cout << p.version() << (p.current() ? " (current)" : "")
                << "  published " << FormatTime(p.published_at()) << ", "
                << p.category_count() << " categories, " << p.cookie_count()
                << " cookies\n";
    }
    return 0;
  }
  return Usage("policy needs publish, get or list");
}

std::string SourceLabel(int source) {
  return absl::AsciiStrToLower(
      Name(consent::v1::ConsentSource_descriptor(), source, "SOURCE_"));
}

int Link(Client& client, const std::vector<char*>& args) {
  if (args.size() != 3) return Usage("link needs DEVICE and ACCOUNT");
  const std::string rule = absl::GetFlag(FLAGS_merge_rule);
  consent::v1::LinkSubjectsRequest request;
  request.set_device_subject_id(args[1]);
  request.set_account_subject_id(args[2]);
  if (rule == "most_recent") {
    request.set_merge_rule(consent::v1::MERGE_RULE_MOST_RECENT);
  } else if (rule == "most_restrictive") {
    request.set_merge_rule(consent::v1::MERGE_RULE_MOST_RESTRICTIVE);
  } else {
    return Usage("--merge_rule must be most_recent or most_restrictive");
  }
  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::LinkSubjectsResponse r;
  grpc::Status status = client.consent().LinkSubjects(&context, request, &r);
  if (!status.ok()) return Failed(status);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(r);
    return 0;
  }
  std::cout << (r.already_linked() ? "already linked: " : "linked: ") << args[1]
            << " -> " << args[2] << " consent_version=" << r.consent_version()
            << (r.merged() ? " (the device's choices were merged)" : "")
            << "\n";
  return 0;
}

int Unlink(Client& client, const std::vector<char*>& args) {
  if (args.size() != 2) return Usage("unlink needs DEVICE");
  consent::v1::UnlinkSubjectsRequest request;
  request.set_device_subject_id(args[1]);
  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::UnlinkSubjectsResponse r;
  grpc::Status status = client.consent().UnlinkSubjects(&context, request, &r);
  if (!status.ok()) return Failed(status);
  std::cout << "unlinked: " << args[1] << " (was linked to "
            << r.account_subject_id() << ")\n";
  return 0;
}

int Watch(Client& client) {
  consent::v1::WatchConsentRequest request;
  request.set_after_cursor(absl::GetFlag(FLAGS_after_cursor));
  request.set_from_now(absl::GetFlag(FLAGS_from_now));
  grpc::ClientContext context;
  client.Prepare(&context);
  // A stream that follows changes has no deadline.
  context.set_deadline(std::chrono::system_clock::time_point::max());
  auto reader = client.consent().WatchConsent(&context, request);
  const int64_t count = absl::GetFlag(FLAGS_count);
  int64_t seen = 0;
  consent::v1::ConsentChange change;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  while (reader->Read(&change)) {
    std::string line;
    (void)google::protobuf::util::MessageToJsonString(change, &line, options);
    std::cout << line << std::endl;  // One line a change, as it comes.
    if (count > 0 && ++seen >= count) {
      context.TryCancel();
      (void)reader->Finish();
      return 0;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Failed(status);
  return 0;
}

int History(Client& client, const std::vector<char*>& args) {
  if (args.size() != 2) return Usage("history needs SUBJECT");
  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::GetHistoryRequest request;
  request.set_subject_id(args[1]);
  consent::v1::GetHistoryResponse r;
  grpc::Status status = client.audit().GetHistory(&context, request, &r);
  if (!status.ok()) return Failed(status);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(r);
    return 0;
  }
  for (const consent::v1::HistoryEntry& d : r.decisions()) {
    std::vector<std::pair<std::string, bool>> choices(d.choices().begin(),
                                                      d.choices().end());
    std::sort(choices.begin(), choices.end());
    std::cout << "v" << d.consent_version() << "  "
              << FormatTime(d.recorded_at()) << "  policy "
              << d.policy_version() << "  via " << SourceLabel(d.source())
              << (d.region().empty() ? "" : "  region " + d.region())
              << (d.gpc() ? "  GPC" : "") << "  by " << d.actor() << "\n    ";
    std::vector<std::string> named;
    for (const auto& [category, granted] : choices) {
      named.push_back(category + "=" + (granted ? "granted" : "denied"));
    }
    std::cout << absl::StrJoin(named, " ") << "\n    standing after:";
    for (const consent::v1::CategoryValue& v : d.standing()) {
      std::cout << " " << v.category() << "="
                << (v.granted() ? "granted" : "denied");
    }
    std::cout << "\n";
  }
  return 0;
}

// A field for CSV (RFC 4180): quoted when it holds a comma, quote or newline.
std::string CsvField(absl::string_view value) {
  if (value.find_first_of(",\"\r\n") == absl::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

constexpr char kCsvHeader[] =
    "sequence,event_id,action,subject_id,subject_pseudonym,actor,recorded_at,"
    "key_id,event_mac,chain_mac,payload";

std::string FormatEvent(const consent::v1::AuditEvent& e, bool csv) {
  if (!csv) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(e, &json, options);
    return json;
  }
  return absl::StrCat(e.sequence(), ",", e.event_id(), ",",
                      CsvField(e.action()), ",", CsvField(e.subject_id()), ",",
                      CsvField(e.subject_pseudonym()), ",", CsvField(e.actor()),
                      ",", FormatTime(e.recorded_at()), ",",
                      CsvField(e.key_id()), ",", e.event_mac(), ",",
                      e.chain_mac(), ",", CsvField(e.payload()));
}

// The offset of the last '\n' in [0, end) of `in`, or -1 when there is none.
// Reads backwards in fixed-size chunks, so memory stays flat however long the
// file or its lines.
absl::StatusOr<int64_t> LastNewlineBefore(std::ifstream& in, int64_t end) {
  constexpr int64_t kChunk = 64 * 1024;
  std::string buffer(kChunk, '\0');
  while (end > 0) {
    const int64_t start = std::max<int64_t>(0, end - kChunk);
    in.clear();
    in.seekg(start);
    in.read(buffer.data(), end - start);
    if (in.gcount() != end - start) {
      return absl::DataLossError("cannot read --out");
    }
    for (int64_t i = end - start - 1; i >= 0; --i) {
      if (buffer[i] == '\n') return start + i;
    }
    end = start;
  }
  return -1;
}

// The last non-empty line of the file at `path` ("" when none), read from
// its tail only. A last line cut short (an export interrupted mid-write) is
// removed from the file first.
absl::StatusOr<std::string> LastCompleteLine(const std::string& path) {
  // The longest line taken for an event: export messages, which hold whole
  // events, stay under 1 MiB.
  constexpr int64_t kMaxLineBytes = 16 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  int64_t size = static_cast<int64_t>(in.tellg());
  if (size < 0) return absl::DataLossError("cannot read --out");
  if (size == 0) return "";
  absl::StatusOr<int64_t> newline = LastNewlineBefore(in, size);
  if (!newline.ok()) return newline.status();
  if (*newline != size - 1) {
    size = *newline + 1;
    std::filesystem::resize_file(path, static_cast<uintmax_t>(size));
    std::cerr << "consentctl: removed an incomplete last line from " << path
              << "\n";
  }
  // [begin, end) is a line without its '\n'; empty lines are skipped.
  int64_t end = size - 1;
  while (end > 0) {
    newline = LastNewlineBefore(in, end);
    if (!newline.ok()) return newline.status();
    const int64_t begin = *newline + 1;
    if (begin == end) {
      end = begin - 1;
      continue;
    }
    if (end - begin > kMaxLineBytes) {
      return absl::InvalidArgumentError(
          "the last line of --out is too long to be an event");
    }
    std::string line(static_cast<size_t>(end - begin), '\0');
    in.clear();
    in.seekg(begin);
    in.read(line.data(), end - begin);
    if (in.gcount() != end - begin) {
      return absl::DataLossError("cannot read --out");
    }
    return line;
  }
  return "";
}

// The sequence of the last complete event in an export file, or 0. A last
// line cut short (an export interrupted mid-write) is removed first. Only
// the tail of the file is read: resuming a huge export is flat in memory.
absl::StatusOr<int64_t> LastExportedSequence(const std::string& path,
                                             bool csv) {
  absl::StatusOr<std::string> line = LastCompleteLine(path);
  if (!line.ok()) return line.status();
  const std::string& last = *line;
  if (last.empty() || last == kCsvHeader) return 0;
  int64_t sequence = 0;
  if (csv) {
    if (!absl::SimpleAtoi(last.substr(0, last.find(',')), &sequence)) {
      return absl::InvalidArgumentError(
          "the last line of --out is not an event");
    }
    return sequence;
  }
  consent::v1::AuditEvent event;
  if (!google::protobuf::util::JsonStringToMessage(last, &event).ok()) {
    return absl::InvalidArgumentError("the last line of --out is not an event");
  }
  return event.sequence();
}

absl::StatusOr<absl::Time> ParseWhen(const std::string& text) {
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error) ||
      absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error)) {
    return t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text,
                   "\" is not a time like 2026-01-12 or "
                   "2026-01-12T10:00:00Z"));
}

int AuditExport() {
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "jsonl" && format != "csv") {
    return Usage("--format must be jsonl or csv");
  }
  const bool csv = format == "csv";
  consent::v1::ExportAuditLogRequest request;
  request.set_subject_id(absl::GetFlag(FLAGS_subject));
  for (const auto& [flag, name] : {std::make_pair(&FLAGS_since, "since"),
                                   std::make_pair(&FLAGS_until, "until")}) {
    const std::string text = absl::GetFlag(*flag);
    if (text.empty()) continue;
    absl::StatusOr<absl::Time> t = ParseWhen(text);
    if (!t.ok())
      return Usage(absl::StrCat("--", name, ": ", t.status().message()));
    SetTimestamp(*t, std::string(name) == "since" ? request.mutable_since()
                                                  : request.mutable_until());
  }
  int64_t after = absl::GetFlag(FLAGS_after_sequence);
  const std::string out_path = absl::GetFlag(FLAGS_out);
  bool append = false;
  if (absl::GetFlag(FLAGS_resume)) {
    if (out_path.empty()) return Usage("--resume needs --out");
    absl::StatusOr<int64_t> last = LastExportedSequence(out_path, csv);
    if (!last.ok()) return Usage(std::string(last.status().message()));
    after = std::max(after, *last);
    append = *last > 0;
  }
  request.set_after_sequence(after);

  std::ofstream file;
  if (!out_path.empty()) {
    file.open(out_path, append ? std::ios::app : std::ios::trunc);
    if (!file) return Usage("cannot write " + out_path);
  }
  std::ostream& out = out_path.empty() ? std::cout : file;
  if (csv && !append) out << kCsvHeader << "\n";

  Client client;
  grpc::ClientContext context;
  context.set_wait_for_ready(absl::GetFlag(FLAGS_wait_for_ready));
  const std::string token =
      BareToken(EnvOr(absl::GetFlag(FLAGS_token), "CONSENTD_TOKEN", ""));
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  std::unique_ptr<grpc::ClientReader<consent::v1::ExportAuditLogResponse>>
      reader = client.audit().ExportAuditLog(&context, request);
  consent::v1::ExportAuditLogResponse batch;
  int64_t exported = 0;
  absl::Time last_progress = absl::Now();
  while (reader->Read(&batch)) {
    for (const consent::v1::AuditEvent& e : batch.events()) {
      out << FormatEvent(e, csv) << "\n";
      after = e.sequence();
      ++exported;
    }
    if (absl::Now() - last_progress > absl::Seconds(2)) {
      std::cerr << "exported " << exported << " events (last sequence " << after
                << ")\n";
      last_progress = absl::Now();
    }
  }
  out.flush();
  grpc::Status status = reader->Finish();
  std::cerr << "exported " << exported << " events"
            << (exported > 0 ? absl::StrCat(", last sequence ", after) : "")
            << (out_path.empty() ? "" : " to " + out_path) << "\n";
  if (!status.ok()) {
    std::cerr << "resume with --resume --out=FILE (or --after_sequence="
              << after << ")\n";
    return Failed(status);
  }
  return 0;
}

int AuditVerify(Client& client) {
  grpc::ClientContext context;
  client.Prepare(&context);
  consent::v1::VerifyAuditLogResponse r;
  grpc::Status status = client.audit().VerifyAuditLog(
      &context, consent::v1::VerifyAuditLogRequest(), &r);
  if (!status.ok()) return Failed(status);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(r);
  } else if (r.ok()) {
    std::cout << "audit log OK: " << r.events_verified()
              << " event(s) verified; head sequence " << r.head_sequence()
              << ", chain MAC " << r.head_chain_mac() << "\n";
    if (r.unsealed_events() > 0) {
      std::cout << r.unsealed_events()
                << " event(s) just committed are waiting to be sealed into "
                   "the log (within a second); they are verified and "
                   "exported once sealed.\n";
    }
    std::cout << "Record this head sequence and MAC somewhere outside "
                 "consentd (a ticket, an email): a later verification that "
                 "shows another MAC at that sequence, or ends before it, "
                 "proves the log was rewritten or truncated.\n";
  } else {
    std::cout << "audit log NOT intact (" << r.events_verified()
              << " events checked):\n";
    for (const consent::v1::AuditProblem& p : r.problems()) {
      std::cout << "  sequence " << p.sequence() << ", event " << p.event_id()
                << ": " << p.description() << "\n";
    }
  }
  return r.ok() ? 0 : kExitDenied;
}

int Audit(Client& client, const std::vector<char*>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (args.size() != 2) return Usage("audit needs export or verify");
  if (verb == "export") return AuditExport();
  if (verb == "verify") return AuditVerify(client);
  return Usage("audit needs export or verify");
}

int Subject(Client& client, const std::vector<char*>& args) {
  const std::string verb = args.size() > 1 ? args[1] : "";
  if (args.size() != 3) return Usage("subject needs export|erase SUBJECT");
  if (verb == "export") {
    grpc::ClientContext context;
    client.Prepare(&context);
    consent::v1::ExportSubjectDataRequest request;
    request.set_subject_id(args[2]);
    consent::v1::ExportSubjectDataResponse r;
    grpc::Status status =
        client.audit().ExportSubjectData(&context, request, &r);
    if (!status.ok()) return Failed(status);
    PrintJson(r);
    if (r.audit_events_truncated()) {
      std::cerr << "consentctl: the subject has more audit events than one "
                   "answer holds; the rest: consentctl audit export "
                   "--subject=SUBJECT --after_sequence="
                << r.last_audit_sequence() << "\n";
    }
    if (r.links_truncated()) {
      std::cerr << "consentctl: the subject has more linked devices than one "
                   "answer holds (the first "
                << r.links_size() << " by device id are shown)\n";
    }
    return 0;
  }
  if (verb == "erase") {
    if (!absl::GetFlag(FLAGS_yes)) {
      return Usage(
          "erasing removes the subject's id from every record for good; add "
          "--yes to confirm");
    }
    grpc::ClientContext context;
    client.Prepare(&context);
    consent::v1::EraseSubjectRequest request;
    request.set_subject_id(args[2]);
    consent::v1::EraseSubjectResponse r;
    grpc::Status status = client.audit().EraseSubject(&context, request, &r);
    if (!status.ok()) return Failed(status);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(r);
    } else {
      std::cout << "erased: " << r.decisions_erased() << " decision(s) and "
                << r.audit_events_erased()
                << " audit event(s) now carry only the pseudonym "
                << r.subject_pseudonym() << "\n";
    }
    return 0;
  }
  return Usage("subject needs export or erase");
}

// "12s", "3m05s".
std::string ShortDuration(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  return s < 60 ? absl::StrCat(s, "s")
                : absl::StrFormat("%dm%02ds", s / 60, s % 60);
}

// Progress on stderr: a bar redrawn in place on a terminal, a line a second
// otherwise. Nothing for an import done within a second.
void PrintProgress(const ImportProgress& p) {
  if (p.elapsed < absl::Seconds(1)) return;
  static const bool tty = isatty(STDERR_FILENO) == 1;
  const double rate = static_cast<double>(p.done) /
                      std::max(absl::ToDoubleSeconds(p.elapsed), 1e-3);
  const int percent =
      p.total == 0 ? 100 : static_cast<int>(p.done * 100 / p.total);
  std::string line = absl::StrFormat("%d/%d rows (%d%%), %.0f rows/s", p.done,
                                     p.total, percent, rate);
  if (p.done < p.total && rate > 0) {
    absl::StrAppend(&line, ", about ",
                    ShortDuration(absl::Seconds(
                        static_cast<double>(p.total - p.done) / rate)),
                    " left");
  }
  if (tty) {
    constexpr int kWidth = 30;
    const int filled = percent * kWidth / 100;
    std::cerr << "\r[" << std::string(filled, '#')
              << std::string(kWidth - filled, ' ') << "] " << line << "\x1b[K"
              << (p.done == p.total ? "\n" : "") << std::flush;
  } else {
    std::cerr << "import: " << line << "\n";
  }
}

int Import(Client& client, const std::vector<char*>& args) {
  if (args.size() != 2) return Usage("import needs FILE");
  const int parallel = absl::GetFlag(FLAGS_parallel);
  if (parallel < 1 || parallel > 1024) {
    return Usage("--parallel must be between 1 and 1024");
  }
  const std::string path = args[1];
  std::ifstream in(path, std::ios::binary);
  if (!in) return Usage("cannot read " + path);
  absl::StatusOr<ImportFile> file =
      ReadImportFile(in, absl::GetFlag(FLAGS_policy_version));
  if (!file.ok()) {
    return Usage(absl::StrCat(path, ": ", file.status().message()));
  }
  const int64_t rows =
      static_cast<int64_t>(file->rows.size() + file->rejected.size());
  const bool dry_run = absl::GetFlag(FLAGS_dry_run);
  ImportSummary summary;
  if (!dry_run) {
    ImportOptions options;
    options.parallel = parallel;
    options.prepare = [&client](grpc::ClientContext* c) { client.Prepare(c); };
    options.progress = PrintProgress;
    summary = RunImport(client.consent(), file->rows, options);
  }
  std::vector<RejectedRow> rejected = file->rejected;
  rejected.insert(rejected.end(), summary.rejected.begin(),
                  summary.rejected.end());
  std::sort(rejected.begin(), rejected.end(),
            [](const RejectedRow& a, const RejectedRow& b) {
              return a.line < b.line;
            });

  if (absl::GetFlag(FLAGS_json)) {
    std::string json = "{\"file\":";
    AppendJsonString(json, path);
    absl::StrAppend(
        &json, ",\"rows\":", rows, ",\"imported\":", summary.imported,
        ",\"already_present\":", summary.already_present, ",\"not_sent\":",
        dry_run ? static_cast<int64_t>(file->rows.size()) : summary.not_sent,
        ",\"rejected\":[");
    for (size_t i = 0; i < rejected.size(); ++i) {
      absl::StrAppend(&json, i == 0 ? "" : ",", "{\"line\":", rejected[i].line,
                      ",\"reason\":");
      AppendJsonString(json, rejected[i].reason);
      json += "}";
    }
    std::cout << json << "]}\n";
  } else {
    std::cout << path << " ("
              << (file->format == ImportFormat::kCsv ? "CSV" : "NDJSON")
              << "): " << rows << " rows\n";
    if (dry_run) {
      std::cout << "dry run: " << file->rows.size()
                << " rows readable, nothing was sent\n";
    } else {
      std::cout << "imported: " << summary.imported
                << ", already present: " << summary.already_present
                << ", rejected: " << rejected.size() << "\n";
    }
    if (!rejected.empty()) {
      std::cout << "rejected rows:\n";
      for (const RejectedRow& r : rejected) {
        std::cout << "  line " << r.line << ": " << r.reason << "\n";
      }
    }
  }
  if (!summary.failure.ok()) {
    std::cerr << "consentctl: the import stopped; " << summary.not_sent
              << " row(s) were not sent. Fix the cause and run the same "
                 "command again: rows already imported are skipped.\n";
    return Failed(summary.failure);
  }
  return rejected.empty() ? 0 : kExitDenied;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help" || arg == "help" || arg == "-help") {
      std::cout << "consentctl: " << kUsage << "\n";
      return 0;
    }
  }
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  args.erase(args.begin());  // The program name.
  if (args.empty()) return Usage("no command given");
  Client client;
  const std::string command = args[0];
  if (command == "check") return Check(client, args);
  if (command == "record") return Record(client, args);
  if (command == "get") return Get(client, args);
  if (command == "policy") return Policy(client, args);
  if (command == "history") return History(client, args);
  if (command == "link") return Link(client, args);
  if (command == "unlink") return Unlink(client, args);
  if (command == "watch") return Watch(client);
  if (command == "audit") return Audit(client, args);
  if (command == "subject") return Subject(client, args);
  if (command == "import") return Import(client, args);
  return Usage(absl::StrCat("unknown command \"", command, "\""));
}

}  // namespace
}  // namespace consentd

int main(int argc, char** argv) { return consentd::Main(argc, argv); }
