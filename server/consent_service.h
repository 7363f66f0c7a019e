// consent.v1.ConsentService: checks answered from the cache (reading through
// to PostgreSQL on a miss), and decisions recorded durably. Thin: validates,
// calls core/ and storage/, maps errors.
#ifndef CONSENTD_SERVER_CONSENT_SERVICE_H_
#define CONSENTD_SERVER_CONSENT_SERVICE_H_

#include <optional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "consent/v1/consent.grpc.pb.h"
#include "server/handler.h"
#include "server/read_coalescer.h"
#include "server/service_context.h"

namespace consentd {

using ConsentServiceBase =
    consent::v1::ConsentService::WithRawCallbackMethod_CheckCookie<
        consent::v1::ConsentService::WithRawCallbackMethod_CheckCookies<
            consent::v1::ConsentService::WithRawCallbackMethod_RecordConsent<
                consent::v1::ConsentService::WithRawCallbackMethod_GetConsent<
                    consent::v1::ConsentService::
                        WithRawCallbackMethod_LinkSubjects<
                            consent::v1::ConsentService::
                                WithRawCallbackMethod_UnlinkSubjects<
                                    consent::v1::ConsentService::
                                        WithRawCallbackMethod_WatchConsent<
                                            consent::v1::ConsentService::
                                                Service>>>>>>>;

// Thread-safe; handlers never block a gRPC thread on the database.
class ConsentServiceImpl final : public ConsentServiceBase {
 public:
  explicit ConsentServiceImpl(const ServiceContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* CheckCookie(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* CheckCookies(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RecordConsent(grpc::CallbackServerContext* context,
                                          const grpc::ByteBuffer* request,
                                          grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetConsent(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* LinkSubjects(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* UnlinkSubjects(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchConsent(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;

 private:
  struct SubjectQuery {
    std::string subject_id;
    // Read-your-writes: the state must be at least this version.
    int64_t min_version = 0;
    // The answer does not depend on the subject (only necessary or unknown
    // cookies): it needs no database, and is given even when PostgreSQL is
    // unreachable.
    bool independent = false;
  };
  // Finishes the call with answer(state, policies) once the subject's state
  // at version >= min_version is known: inline on a cache hit, otherwise on
  // the work queue after reading PostgreSQL (which fills the cache).
  // `snapshot` is the policy snapshot `query.independent` was decided with.
  // What an answer is evaluated against: a policy of `policies` at a time.
  struct Basis {
    const PolicySnapshot& policies;
    const CompiledPolicy* policy;  // Not null.
    absl::Time now;
  };
  using Answer =
      absl::AnyInvocable<grpc::Status(const SubjectState&, const Basis&) &&>;
  void WithSubject(const Call& call,
                   std::shared_ptr<const PolicySnapshot> snapshot,
                   SubjectQuery query, Answer answer);

  // The evaluation context of `basis` for a region and GPC signal.
  EvaluationContext Evaluation(const Basis& basis, const std::string& region,
                               bool gpc) const;
  // Now, under `policies`' current policy.
  Basis Current(const PolicySnapshot& policies) const {
    return Basis{policies, policies.current(), ctx_.clock->Now()};
  }

  // Finishes the call with answer(state, basis) for the past or another
  // policy: the subject's state as of `as_of` (from its append-only
  // decisions; nullopt: the current state) under `policy_version` (empty:
  // the policy current at as_of, or now). On the work queue: it reads
  // PostgreSQL, never the cache.
  void WithPastSubject(const Call& call, std::string subject,
                       std::optional<absl::Time> as_of,
                       std::string policy_version, Answer answer);

  // Finishes `call` with answer(state) once `state` was read for `query`.
  void AnswerWithState(const Call& call, const PolicySnapshot& snapshot,
                       const SubjectQuery& query, Answer answer,
                       const absl::StatusOr<SubjectState>& state);

  // Reads the subject from PostgreSQL and caches it.
  absl::StatusOr<SubjectState> ReadThrough(const std::string& subject_id,
                                           absl::Time deadline);

  const ServiceContext ctx_;
  ReadCoalescer reads_;
};

}  // namespace consentd

#endif  // CONSENTD_SERVER_CONSENT_SERVICE_H_
