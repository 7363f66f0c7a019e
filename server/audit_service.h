// consent.v1.AuditService: history, the audit log (export, verification),
// and data-subject requests (access, erasure).
#ifndef CONSENTD_SERVER_AUDIT_SERVICE_H_
#define CONSENTD_SERVER_AUDIT_SERVICE_H_

#include "consent/v1/audit.grpc.pb.h"
#include "server/service_context.h"

namespace consentd {

using AuditServiceBase =
    consent::v1::AuditService::WithRawCallbackMethod_GetHistory<
        consent::v1::AuditService::WithRawCallbackMethod_ExportAuditLog<
            consent::v1::AuditService::WithRawCallbackMethod_VerifyAuditLog<
                consent::v1::AuditService::WithRawCallbackMethod_EraseSubject<
                    consent::v1::AuditService::
                        WithRawCallbackMethod_ExportSubjectData<
                            consent::v1::AuditService::Service>>>>>;

// Thread-safe. All work runs on the work queue; an export holds one page of
// events in memory at a time, however long the log.
class AuditServiceImpl final : public AuditServiceBase {
 public:
  explicit AuditServiceImpl(const ServiceContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* GetHistory(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* ExportAuditLog(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* VerifyAuditLog(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* EraseSubject(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ExportSubjectData(
      grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
      grpc::ByteBuffer* response) override;

 private:
  const ServiceContext ctx_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_AUDIT_SERVICE_H_
