// consent.v1.PolicyService: publish, read and list cookie policies.
#ifndef CONSENTD_SERVER_POLICY_SERVICE_H_
#define CONSENTD_SERVER_POLICY_SERVICE_H_

#include "consent/v1/policy.grpc.pb.h"
#include "server/service_context.h"

namespace consentd {

using PolicyServiceBase =
    consent::v1::PolicyService::WithRawCallbackMethod_PublishPolicy<
        consent::v1::PolicyService::WithRawCallbackMethod_GetPolicy<
            consent::v1::PolicyService::WithRawCallbackMethod_ListPolicies<
                consent::v1::PolicyService::Service>>>;

// Thread-safe. Every method runs on the work queue: each reads or writes
// PostgreSQL, so that a policy published through another replica is seen.
class PolicyServiceImpl final : public PolicyServiceBase {
 public:
  explicit PolicyServiceImpl(const ServiceContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* PublishPolicy(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListPolicies(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

 private:
  const ServiceContext ctx_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_POLICY_SERVICE_H_
