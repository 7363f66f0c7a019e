#include "server/codec.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace consentd {
namespace {

// The core enums mirror the wire enums number for number.
static_assert(static_cast<int>(Reason::kGpcOptOut) ==
              consent::v1::REASON_GPC_OPT_OUT);
static_assert(static_cast<int>(Reason::kUnknownCookie) ==
              consent::v1::REASON_UNKNOWN_COOKIE);
static_assert(static_cast<int>(Lifetime::kVaries) ==
              consent::v1::LIFETIME_VARIES);
static_assert(static_cast<int>(CategoryStateKind::kReconsentRequired) ==
              consent::v1::STATE_RECONSENT_REQUIRED);
static_assert(static_cast<int>(CategoryStateKind::kNotDecided) ==
              consent::v1::STATE_NOT_DECIDED);

Lifetime LifetimeFromProto(int lifetime) {
  switch (lifetime) {
    case consent::v1::LIFETIME_SESSION:
      return Lifetime::kSession;
    case consent::v1::LIFETIME_FIXED:
      return Lifetime::kFixed;
    case consent::v1::LIFETIME_PERSISTENT:
      return Lifetime::kPersistent;
    case consent::v1::LIFETIME_VARIES:
      return Lifetime::kVaries;
    default:
      return Lifetime::kUnspecified;
  }
}

}  // namespace

Policy PolicyFromProto(const consent::v1::Policy& proto) {
  Policy policy;
  policy.version = proto.version();
  for (const consent::v1::Category& c : proto.categories()) {
    Category category;
    category.id = c.id();
    category.display_name = c.display_name();
    category.description = c.description();
    category.required = c.required();
    category.gpc_opt_out = c.gpc_opt_out();
    category.consent_mode_signals.assign(c.consent_mode_signals().begin(),
                                         c.consent_mode_signals().end());
    category.grant_ttl_seconds = c.grant_ttl_seconds();
    category.refusal_ttl_seconds = c.refusal_ttl_seconds();
    policy.categories.push_back(std::move(category));
  }
  for (const consent::v1::Cookie& k : proto.cookies()) {
    policy.cookies.push_back(Cookie{k.name(), k.category(), k.purpose(),
                                    LifetimeFromProto(k.lifetime()),
                                    k.duration_seconds()});
  }
  policy.reconsent_categories.assign(proto.reconsent_categories().begin(),
                                     proto.reconsent_categories().end());
  return policy;
}

consent::v1::Cookie CookieToProto(const Cookie& cookie) {
  consent::v1::Cookie out;
  out.set_name(cookie.name);
  out.set_category(cookie.category);
  out.set_purpose(cookie.purpose);
  out.set_lifetime(LifetimeToProto(cookie.lifetime));
  out.set_duration_seconds(cookie.duration_seconds);
  return out;
}

void ReviewToProto(const PolicyReview& review,
                   consent::v1::PolicyChangeReport* out) {
  out->set_current_version(review.current_version);
  out->set_already_published(review.already_published);
  for (const CategoryChange& c : review.diff.category_changes) {
    consent::v1::CookieCategoryChange* change = out->add_category_changes();
    change->set_cookie(c.cookie);
    change->set_from_category(c.from);
    change->set_to_category(c.to);
  }
  for (const Cookie& k : review.diff.cookies_added) {
    *out->add_cookies_added() = CookieToProto(k);
  }
  for (const Cookie& k : review.diff.cookies_removed) {
    *out->add_cookies_removed() = CookieToProto(k);
  }
  for (const std::string& id : review.diff.categories_added) {
    out->add_categories_added(id);
  }
  for (const std::string& id : review.diff.categories_removed) {
    out->add_categories_removed(id);
  }
  for (const std::string& id : review.reconsent_categories) {
    out->add_reconsent_categories(id);
  }
  out->set_subjects_to_reconsent(review.subjects_to_reconsent);
  for (const ReconsentImpact& i : review.reconsent_impact) {
    consent::v1::ReconsentImpact* impact = out->add_reconsent_impact();
    impact->set_category(i.category);
    impact->set_subjects_granted(i.subjects_granted);
    impact->set_subjects_denied(i.subjects_denied);
  }
  for (const LintFinding& f : review.findings) {
    consent::v1::LintFinding* finding = out->add_findings();
    finding->set_code(f.code);
    finding->set_cookie(f.cookie);
    finding->set_category(f.category);
    finding->set_message(f.message);
  }
}

std::string CanonicalPolicyBytes(const consent::v1::Policy& proto) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    proto.SerializeToCodedStream(&coded);
  }
  return bytes;
}

std::string PolicyToJson(const consent::v1::Policy& proto, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.add_whitespace = pretty;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(proto, &json, options);
  return json;
}

absl::StatusOr<consent::v1::Policy> ParsePolicyJson(absl::string_view json,
                                                    absl::string_view origin) {
  consent::v1::Policy policy;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &policy,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": not a consent.v1.Policy in protobuf JSON: ",
                     std::string(status.message())));
  }
  return policy;
}

absl::StatusOr<consent::v1::Policy> ReadPolicyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read policy file ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParsePolicyJson(text.str(), path);
}

consent::v1::Reason ReasonToProto(Reason reason) {
  return static_cast<consent::v1::Reason>(reason);
}

consent::v1::CookieLifetime LifetimeToProto(Lifetime lifetime) {
  return static_cast<consent::v1::CookieLifetime>(lifetime);
}

consent::v1::CategoryState StateToProto(CategoryStateKind state) {
  return static_cast<consent::v1::CategoryState>(state);
}

ConsentSource SourceFromProto(int source) {
  switch (source) {
    case consent::v1::SOURCE_BANNER:
      return ConsentSource::kBanner;
    case consent::v1::SOURCE_PREFERENCES_CENTER:
      return ConsentSource::kPreferencesCenter;
    case consent::v1::SOURCE_API:
      return ConsentSource::kApi;
    case consent::v1::SOURCE_SUPPORT:
      return ConsentSource::kSupport;
    case consent::v1::SOURCE_IMPORT:
      return ConsentSource::kImport;
    default:
      return ConsentSource::kUnspecified;
  }
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace consentd
