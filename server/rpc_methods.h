// The RPCs consentd serves, as a small enum, with their service and method
// names (for authorization rules and metric labels).
#ifndef CONSENTD_SERVER_RPC_METHODS_H_
#define CONSENTD_SERVER_RPC_METHODS_H_

#include <array>
#include <cstddef>

#include "absl/strings/string_view.h"

namespace consentd {

enum class Rpc : uint8_t {
  kCheckCookie,
  kCheckCookies,
  kRecordConsent,
  kGetConsent,
  kLinkSubjects,
  kUnlinkSubjects,
  kWatchConsent,
  kPublishPolicy,
  kGetPolicy,
  kListPolicies,
  kGetHistory,
  kExportAuditLog,
  kVerifyAuditLog,
  kEraseSubject,
  kExportSubjectData,
};
inline constexpr size_t kRpcCount = 15;

struct RpcInfo {
  absl::string_view service;      // "consent.v1.ConsentService"
  absl::string_view method;       // "CheckCookie"
  absl::string_view full_method;  // "/consent.v1.ConsentService/CheckCookie"
  bool server_streaming;
};

inline const RpcInfo& Info(Rpc rpc) {
  static constexpr std::array<RpcInfo, kRpcCount> kInfo = {{
      {"consent.v1.ConsentService", "CheckCookie",
       "/consent.v1.ConsentService/CheckCookie", false},
      {"consent.v1.ConsentService", "CheckCookies",
       "/consent.v1.ConsentService/CheckCookies", false},
      {"consent.v1.ConsentService", "RecordConsent",
       "/consent.v1.ConsentService/RecordConsent", false},
      {"consent.v1.ConsentService", "GetConsent",
       "/consent.v1.ConsentService/GetConsent", false},
      {"consent.v1.ConsentService", "LinkSubjects",
       "/consent.v1.ConsentService/LinkSubjects", false},
      {"consent.v1.ConsentService", "UnlinkSubjects",
       "/consent.v1.ConsentService/UnlinkSubjects", false},
      {"consent.v1.ConsentService", "WatchConsent",
       "/consent.v1.ConsentService/WatchConsent", true},
      {"consent.v1.PolicyService", "PublishPolicy",
       "/consent.v1.PolicyService/PublishPolicy", false},
      {"consent.v1.PolicyService", "GetPolicy",
       "/consent.v1.PolicyService/GetPolicy", false},
      {"consent.v1.PolicyService", "ListPolicies",
       "/consent.v1.PolicyService/ListPolicies", false},
      {"consent.v1.AuditService", "GetHistory",
       "/consent.v1.AuditService/GetHistory", false},
      {"consent.v1.AuditService", "ExportAuditLog",
       "/consent.v1.AuditService/ExportAuditLog", true},
      {"consent.v1.AuditService", "VerifyAuditLog",
       "/consent.v1.AuditService/VerifyAuditLog", false},
      {"consent.v1.AuditService", "EraseSubject",
       "/consent.v1.AuditService/EraseSubject", false},
      {"consent.v1.AuditService", "ExportSubjectData",
       "/consent.v1.AuditService/ExportSubjectData", false},
  }};
  return kInfo[static_cast<size_t>(rpc)];
}

}  // namespace consentd

#endif  // CONSENTD_SERVER_RPC_METHODS_H_
