#include "core/access.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/validation.h"

namespace consentd {
namespace {

constexpr uint8_t Allow(std::initializer_list<Role> roles) {
  uint8_t bits = 0;
  for (Role r : roles) bits |= static_cast<uint8_t>(1u << static_cast<int>(r));
  return bits;
}

constexpr uint8_t kApp = Allow({Role::kApp, Role::kAdmin});
constexpr uint8_t kRead = Allow({Role::kApp, Role::kSupport, Role::kAdmin});
constexpr uint8_t kSupport = Allow({Role::kSupport, Role::kAdmin});
constexpr uint8_t kAdmin = Allow({Role::kAdmin});

// DESIGN.md §4: app = ConsentService plus GetPolicy and ListPolicies;
// support = read-only (GetConsent, policies, history, the audit log,
// subject exports); admin = everything.
const absl::flat_hash_map<absl::string_view, uint8_t>& Rules() {
  static const auto* const rules =
      new absl::flat_hash_map<absl::string_view, uint8_t>{
          {"/consent.v1.ConsentService/CheckCookie", kApp},
          {"/consent.v1.ConsentService/CheckCookies", kApp},
          {"/consent.v1.ConsentService/RecordConsent", kApp},
          {"/consent.v1.ConsentService/GetConsent", kRead},
          {"/consent.v1.ConsentService/LinkSubjects", kApp},
          {"/consent.v1.ConsentService/UnlinkSubjects", kApp},
          {"/consent.v1.ConsentService/WatchConsent", kApp},
          {"/consent.v1.PolicyService/PublishPolicy", kAdmin},
          {"/consent.v1.PolicyService/GetPolicy", kRead},
          {"/consent.v1.PolicyService/ListPolicies", kRead},
          {"/consent.v1.AuditService/GetHistory", kSupport},
          {"/consent.v1.AuditService/ExportAuditLog", kSupport},
          {"/consent.v1.AuditService/VerifyAuditLog", kSupport},
          {"/consent.v1.AuditService/ExportSubjectData", kSupport},
          {"/consent.v1.AuditService/EraseSubject", kAdmin},
      };
  return *rules;
}

// Compares equal-length strings in time independent of where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kApp:
      return "app";
    case Role::kSupport:
      return "support";
    case Role::kAdmin:
      return "admin";
  }
  return "";
}

std::optional<uint8_t> MethodRule(absl::string_view full_method) {
  auto it = Rules().find(full_method);
  if (it == Rules().end()) return std::nullopt;
  return it->second;
}

bool RoleMayImportDecisionTimes(Role role) { return role == Role::kAdmin; }

bool RoleAllows(Role role, absl::string_view full_method) {
  const std::optional<uint8_t> rule = MethodRule(full_method);
  return rule && (*rule & (1u << static_cast<int>(role))) != 0;
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view text) {
  TokenTable table;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    const std::string where = absl::StrCat("line ", line_number);
    if (words.size() != 3) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": expected \"<role> <principal> <sha256 hex of the token>\""));
    }
    Credential credential;
    if (words[0] == "app") {
      credential.role = Role::kApp;
    } else if (words[0] == "support") {
      credential.role = Role::kSupport;
    } else if (words[0] == "admin") {
      credential.role = Role::kAdmin;
    } else {
      // The field is not quoted: a line written in the wrong order would
      // put a digest here.
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": the first field must be the role: app, support or admin"));
    }
    if (absl::Status s =
            ValidateIdentifier(words[1], where + ": principal", 128);
        !s.ok()) {
      return s;
    }
    credential.principal = std::string(words[1]);
    bool hex = words[2].size() == 64;
    for (char c : words[2]) hex = hex && absl::ascii_isxdigit(c);
    if (!hex) {
      return absl::InvalidArgumentError(absl::StrCat(
          where,
          ": the token digest must be 64 hexadecimal digits (sha256sum "
          "of the token)"));
    }
    const std::string digest =
        absl::HexStringToBytes(absl::AsciiStrToLower(words[2]));
    if (!table.credentials_.emplace(digest, std::move(credential)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": the same token appears twice"));
    }
  }
  return table;
}

const Credential* TokenTable::Find(absl::string_view sha256_digest) const {
  auto it = credentials_.find(sha256_digest);
  if (it == credentials_.end() ||
      !ConstantTimeEquals(it->first, sha256_digest)) {
    return nullptr;
  }
  return &it->second;
}

}  // namespace consentd
