#include "server/consent_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/validation.h"
#include "server/change_stream.h"
#include "server/codec.h"
#include "server/handler.h"
#include "server/request_validation.h"
#include "server/status.h"
#include "server/wire.h"

namespace consentd {
namespace {

using Snapshot = std::shared_ptr<const PolicySnapshot>;

// Decodes a request and validates it (server/request_validation.h).
template <typename Request>
absl::Status ParseValidRequest(const grpc::ByteBuffer& raw, Request* req) {
  absl::Status s = ParseRequest(raw, req);
  return s.ok() ? ValidateRequest(*req) : s;
}

// What the audit log keeps of the request context: keyed hashes only.
RequestFingerprint FingerprintOf(const consent::v1::RequestContext& context,
                                 const AuditKeys& keys) {
  RequestFingerprint f;
  if (!context.user_agent().empty()) {
    f.user_agent_hmac = keys.Fingerprint("user_agent", context.user_agent());
  }
  if (std::optional<std::string> ip = CanonicalIp(context.ip_address())) {
    f.ip_hmac = keys.Fingerprint("ip", *ip);
  }
  return f;
}

absl::StatusOr<Snapshot> CurrentPolicy(PolicyRegistry* registry) {
  Snapshot snapshot = registry->Get();
  if (snapshot->current() == nullptr) {
    return absl::FailedPreconditionError(
        "no cookie policy has been published yet: publish one with "
        "PolicyService.PublishPolicy or start consentd with "
        "--bootstrap_policy");
  }
  return snapshot;
}

// True when the answer for `cookie_name` does not depend on any subject:
// unknown cookies are denied and required categories allowed, always.
bool SubjectIndependent(const CompiledPolicy& policy,
                        absl::string_view cookie_name) {
  const CompiledPolicy::CookieInfo* cookie = policy.FindCookie(cookie_name);
  return cookie == nullptr ||
         policy.categories()[cookie->category].def->required;
}

void FillCheck(const EvaluationContext& eval, const SubjectState& subject,
               absl::string_view cookie_name, Metrics* metrics,
               consent::v1::CheckCookieResponse* out) {
  const CookieVerdict v = EvaluateCookie(eval, subject, cookie_name);
  out->set_allowed(v.allowed);
  out->set_reason(ReasonToProto(v.reason));
  if (v.cookie != nullptr) {
    out->set_category(v.cookie->def->category);
    out->set_lifetime(LifetimeToProto(v.cookie->def->lifetime));
  }
  out->set_max_age_seconds(v.max_age_seconds);
  out->set_consent_version(subject.consent_version);
  out->set_policy_version(eval.policy->version());
  metrics->CountCheck(v.reason,
                      v.cookie == nullptr
                          ? nullptr
                          : &eval.policy->categories()[v.cookie->category]);
}

}  // namespace

EvaluationContext ConsentServiceImpl::Evaluation(const Basis& basis,
                                                 const std::string& region,
                                                 bool gpc) const {
  return EvaluationContext{basis.policy, ctx_.regions->Lookup(region), gpc,
                           basis.now, ctx_.consent_ttl};
}

absl::StatusOr<SubjectState> ConsentServiceImpl::ReadThrough(
    const std::string& subject_id, absl::Time deadline) {
  const ConsentCache::FillToken token = ctx_.cache->BeginFill(subject_id);
  if (!ctx_.cache->Trusted()) {
    // Change notifications may be missed right now, policy publishes too.
    if (absl::Status s = ctx_.policies->RefreshIfChanged(); !s.ok()) return s;
  }
  bool linked = false;
  absl::StatusOr<SubjectState> state =
      ctx_.store->LoadSubject(subject_id, deadline, &linked);
  if (!state.ok()) return state;
  // A decision under a policy this replica has not loaded yet means another
  // replica published it: load it before answering.
  int64_t newest_seq = state->latest_policy_seq;
  for (const CategoryChoice& c : state->choices) {
    newest_seq = std::max(newest_seq, c.policy_seq);
  }
  const CompiledPolicy* current = ctx_.policies->Get()->current();
  if (current == nullptr || newest_seq > current->seq()) {
    if (absl::Status s = ctx_.policies->Reload(); !s.ok()) return s;
  }
  // A linked device answers from its account, whose changes do not evict
  // the device's entry: it is not cached, and reads PostgreSQL each time.
  if (!linked) ctx_.cache->Fill(subject_id, *state, token);
  return state;
}

void ConsentServiceImpl::WithSubject(const Call& call, Snapshot snapshot,
                                     SubjectQuery query, Answer answer) {
  std::optional<SubjectState> cached;
  ctx_.cache->Read(query.subject_id,
                   [&](const SubjectState& s) { cached = s; });
  if (cached && cached->consent_version >= query.min_version) {
    ctx_.metrics->CountCacheHit();
    call.Finish(std::move(answer)(*cached, Current(*snapshot)));
    return;
  }
  if (query.independent && query.min_version == 0 && ctx_.cache->Trusted()) {
    // Nothing about the subject can change the answer: no database. (While
    // the cache is not trusted, policies may be stale too: read through.)
    call.Finish(std::move(answer)(SubjectState(), Current(*snapshot)));
    return;
  }
  ctx_.metrics->CountCacheMiss();
  const std::string subject = query.subject_id;
  const bool own_read = query.min_version > 0;
  auto done = [this, call, snapshot = std::move(snapshot),
               query = std::move(query), answer = std::move(answer)](
                  const absl::StatusOr<SubjectState>& state) mutable {
    AnswerWithState(call, *snapshot, query, std::move(answer), state);
  };
  if (own_read) {
    // Read-your-writes needs a read that starts after the caller's write
    // committed: not one already in flight.
    absl::Status queued = ctx_.work->Submit(
        [this, call, subject, done = std::move(done)]() mutable {
          if (call.context()->IsCancelled()) {
            call.Finish(ToGrpcStatus(absl::CancelledError(
                "the call was cancelled or timed out before it ran")));
            return;
          }
          std::move(done)(ReadThrough(subject, CallDeadline(*call.context())));
        });
    if (!queued.ok()) call.Fail(queued);
    return;
  }
  // Concurrent misses for one subject share one read. It is not bound to
  // the deadline of the call that started it (others wait for it too): the
  // database's statement timeout bounds it.
  if (!reads_.Join(subject, std::move(done))) return;
  absl::Status queued = ctx_.work->Submit([this, subject] {
    reads_.Finish(subject, ReadThrough(subject, absl::InfiniteFuture()));
  });
  if (!queued.ok()) reads_.Finish(subject, queued);
}

void ConsentServiceImpl::WithPastSubject(const Call& call, std::string subject,
                                         std::optional<absl::Time> as_of,
                                         std::string policy_version,
                                         Answer answer) {
  const absl::Time now = ctx_.clock->Now();
  if (as_of && *as_of > now) {
    call.Fail(absl::InvalidArgumentError(
        absl::StrCat("as_of is in the future (", absl::FormatTime(*as_of),
                     "; it is ", absl::FormatTime(now), " here)")));
    return;
  }
  absl::Status queued =
      ctx_.work->Submit([this, call, now, subject = std::move(subject), as_of,
                         policy_version = std::move(policy_version),
                         answer = std::move(answer)]() mutable {
        // Policies published elsewhere count too.
        absl::StatusOr<Snapshot> policies =
            policy_version.empty() ? ([&]() -> absl::StatusOr<Snapshot> {
              if (absl::Status s = ctx_.policies->RefreshIfChanged(); !s.ok()) {
                return s;
              }
              return ctx_.policies->Get();
            })()
                                   : ctx_.policies->FindVersion(policy_version);
        if (!policies.ok()) {
          call.Finish(
              ToGrpcStatus(absl::IsNotFound(policies.status())
                               ? absl::InvalidArgumentError(absl::StrCat(
                                     "policy_version \"", policy_version,
                                     "\" is not a published policy"))
                               : policies.status()));
          return;
        }
        const PolicyHistory& history = *(*policies)->history;
        const CompiledPolicy* policy = !policy_version.empty()
                                           ? history.Find(policy_version)
                                       : as_of ? history.AsOf(*as_of)
                                               : history.current();
        if (policy == nullptr) {
          call.Finish(ToGrpcStatus(absl::FailedPreconditionError(
              absl::StrCat("no cookie policy had been published by as_of (",
                           absl::FormatTime(*as_of), ")"))));
          return;
        }
        const absl::Time deadline = CallDeadline(*call.context());
        absl::StatusOr<SubjectState> state =
            as_of ? ctx_.store->LoadSubjectAsOf(subject, *as_of, deadline)
                  : ctx_.store->LoadSubject(subject, deadline);
        if (!state.ok()) {
          call.Finish(ToGrpcStatus(state.status()));
          return;
        }
        call.Finish(std::move(answer)(
            *state, Basis{**policies, policy, as_of.value_or(now)}));
      });
  if (!queued.ok()) call.Fail(queued);
}

void ConsentServiceImpl::AnswerWithState(
    const Call& call, const PolicySnapshot& snapshot, const SubjectQuery& query,
    Answer answer, const absl::StatusOr<SubjectState>& state) {
  if (!state.ok()) {
    if (query.independent && !absl::IsCancelled(state.status())) {
      // Necessary and unknown cookies answer even without PostgreSQL, with
      // the policy this replica has.
      call.Finish(std::move(answer)(SubjectState(), Current(snapshot)));
    } else {
      call.Finish(ToGrpcStatus(state.status()));
    }
  } else if (state->consent_version < query.min_version) {
    call.Finish(ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "min_consent_version is ", query.min_version,
        " but the subject's latest version is ", state->consent_version))));
  } else {
    // The read-through may have loaded a newer policy: answer with it.
    call.Finish(std::move(answer)(*state, Current(*ctx_.policies->Get())));
  }
}

grpc::ServerUnaryReactor* ConsentServiceImpl::CheckCookie(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kCheckCookie);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::CheckCookieRequest req;
  absl::Status s = ParseValidRequest(*request, &req);
  if (!s.ok()) return call.Fail(s);
  absl::StatusOr<Snapshot> snapshot = CurrentPolicy(ctx_.policies);
  if (!snapshot.ok()) return call.Fail(snapshot.status());

  std::optional<absl::Time> as_of;
  if (req.has_as_of()) as_of = FromTimestamp(req.as_of());
  SubjectQuery query{
      std::move(*req.mutable_subject_id()), req.min_consent_version(),
      SubjectIndependent(*(*snapshot)->current(), req.cookie_name())};
  Answer answer = [this, req = std::move(req), response](
                      const SubjectState& subject, const Basis& basis) {
    const EvaluationContext eval = Evaluation(basis, req.region(), req.gpc());
    consent::v1::CheckCookieResponse out;
    FillCheck(eval, subject, req.cookie_name(), ctx_.metrics, &out);
    return SerializeResponse(out, response);
  };
  if (as_of) {
    WithPastSubject(call, std::move(query.subject_id), as_of, "",
                    std::move(answer));
  } else {
    WithSubject(call, *std::move(snapshot), std::move(query),
                std::move(answer));
  }
  return call.reactor();
}

grpc::ServerUnaryReactor* ConsentServiceImpl::CheckCookies(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kCheckCookies);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::CheckCookiesRequest req;
  absl::Status s = ParseValidRequest(*request, &req);
  if (!s.ok()) return call.Fail(s);
  absl::StatusOr<Snapshot> snapshot = CurrentPolicy(ctx_.policies);
  if (!snapshot.ok()) return call.Fail(snapshot.status());

  std::optional<absl::Time> as_of;
  if (req.has_as_of()) as_of = FromTimestamp(req.as_of());
  const CompiledPolicy& current = *(*snapshot)->current();
  SubjectQuery query{
      std::move(*req.mutable_subject_id()), req.min_consent_version(),
      std::all_of(req.cookie_names().begin(), req.cookie_names().end(),
                  [&](const std::string& name) {
                    return SubjectIndependent(current, name);
                  })};
  Answer answer = [this, req = std::move(req), response](
                      const SubjectState& subject, const Basis& basis) {
    const EvaluationContext eval = Evaluation(basis, req.region(), req.gpc());
    consent::v1::CheckCookiesResponse out;
    out.mutable_results()->Reserve(req.cookie_names_size());
    for (const std::string& name : req.cookie_names()) {
      FillCheck(eval, subject, name, ctx_.metrics, out.add_results());
    }
    return SerializeResponse(out, response);
  };
  if (as_of) {
    WithPastSubject(call, std::move(query.subject_id), as_of, "",
                    std::move(answer));
  } else {
    WithSubject(call, *std::move(snapshot), std::move(query),
                std::move(answer));
  }
  return call.reactor();
}

grpc::ServerUnaryReactor* ConsentServiceImpl::RecordConsent(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kRecordConsent);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::RecordConsentRequest req;
  absl::Status s = ParseValidRequest(*request, &req);
  if (!s.ok()) return call.Fail(s);

  Decision d;
  d.subject_id = req.subject_id();
  d.policy_version = req.policy_version();
  d.choices.assign(req.choices().begin(), req.choices().end());
  std::sort(d.choices.begin(), d.choices.end());
  d.source = SourceFromProto(req.source());
  d.region = req.region();
  d.gpc = req.gpc();
  d.idempotency_key = req.idempotency_key();
  d.expected_version = req.expected_version();
  d.actor = caller->principal;
  d.fingerprint = FingerprintOf(req.context(), *ctx_.audit_keys);
  if (req.has_recorded_at()) {
    if (!RoleMayImportDecisionTimes(caller->role)) {
      return call.Fail(absl::PermissionDeniedError(
          "recorded_at (importing a decision with the time it was made) "
          "needs the admin role"));
    }
    const absl::Time t = FromTimestamp(req.recorded_at());
    if (absl::Status v =
            ValidateImportedTime(t, ctx_.clock->Now(), "recorded_at");
        !v.ok()) {
      return call.Fail(v);
    }
    // PostgreSQL keeps microseconds.
    d.recorded_at = absl::FromUnixMicros(absl::ToUnixMicros(t));
    d.keep_time = true;
  }

  absl::Status queued = ctx_.work->Submit([this, call, response,
                                           d = std::move(d)]() mutable {
    if (call.context()->IsCancelled()) {
      call.Finish(ToGrpcStatus(absl::CancelledError(
          "the call was cancelled or timed out before anything was written")));
      return;
    }
    absl::StatusOr<Snapshot> snapshot =
        ctx_.policies->FindVersion(d.policy_version);
    if (!snapshot.ok()) {
      call.Finish(ToGrpcStatus(absl::IsNotFound(snapshot.status())
                                   ? absl::InvalidArgumentError(absl::StrCat(
                                         "policy_version \"", d.policy_version,
                                         "\" is not a published policy"))
                                   : snapshot.status()));
      return;
    }
    const CompiledPolicy& policy =
        *(*snapshot)->history->Find(d.policy_version);
    if (absl::Status v = ValidateChoices(d, policy); !v.ok()) {
      call.Finish(ToGrpcStatus(v));
      return;
    }
    // Stamped when the write runs, not when it was queued. PostgreSQL keeps
    // microseconds: truncate so the answer equals the record.
    if (!d.keep_time) {
      d.recorded_at =
          absl::FromUnixMicros(absl::ToUnixMicros(ctx_.clock->Now()));
    }
    const ConsentCache::FillToken token = ctx_.cache->BeginFill(d.subject_id);
    std::string subject = d.subject_id;
    const ConsentSource source = d.source;
    // Group commit: answered on a committer thread once the transaction
    // holding this decision committed.
    ctx_.committer->Submit(
        std::move(d), CallDeadline(*call.context()),
        [this, call, response, token, source,
         subject = std::move(subject)](absl::StatusOr<RecordOutcome> outcome) {
          if (!outcome.ok()) {
            // The write may have committed (outcome unknown) or raced
            // another: the next check reads PostgreSQL rather than trust
            // this replica.
            ctx_.cache->Erase(subject);
            call.Finish(ToGrpcStatus(outcome.status()));
            return;
          }
          if (outcome->subject_id != subject) {
            // A linked device's decision, recorded for its account (whose
            // fill token this is not): its next check reads PostgreSQL.
            ctx_.cache->Erase(outcome->subject_id);
          } else if (!ctx_.cache->Fill(subject, outcome->state, token)) {
            // Something else changed the subject meanwhile: rather than
            // keep an older entry, let the next check read PostgreSQL.
            ctx_.cache->Erase(subject);
          }
          if (!outcome->replayed) ctx_.metrics->CountDecision(source);
          consent::v1::RecordConsentResponse out;
          out.set_consent_version(outcome->consent_version);
          SetTimestamp(outcome->recorded_at, out.mutable_recorded_at());
          out.set_replayed(outcome->replayed);
          call.Finish(SerializeResponse(out, response));
        });
  });
  if (!queued.ok()) return call.Fail(queued);
  return call.reactor();
}

grpc::ServerUnaryReactor* ConsentServiceImpl::GetConsent(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kGetConsent);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::GetConsentRequest req;
  absl::Status s = ParseValidRequest(*request, &req);
  if (!s.ok()) return call.Fail(s);
  absl::StatusOr<Snapshot> snapshot = CurrentPolicy(ctx_.policies);
  if (!snapshot.ok()) return call.Fail(snapshot.status());

  std::optional<absl::Time> as_of;
  if (req.has_as_of()) as_of = FromTimestamp(req.as_of());
  std::string policy_version = req.policy_version();
  SubjectQuery query{std::move(*req.mutable_subject_id()),
                     req.min_consent_version(), /*independent=*/false};
  Answer answer = [this, req = std::move(req), response](
                      const SubjectState& subject, const Basis& basis) {
    const EvaluationContext eval = Evaluation(basis, req.region(), req.gpc());
    const ConsentSummary summary = Summarize(eval, subject);
    consent::v1::GetConsentResponse out;
    out.set_consent_version(subject.consent_version);
    if (subject.consent_version > 0) {
      if (const CompiledPolicy* p =
              basis.policies.history->FindBySeq(subject.latest_policy_seq)) {
        out.set_policy_version(p->version());
      }
      SetTimestamp(subject.latest_decided_at, out.mutable_decided_at());
    }
    for (size_t i = 0; i < summary.categories.size(); ++i) {
      const CategoryVerdict& v = summary.categories[i];
      consent::v1::CategoryConsent* c = out.add_categories();
      c->set_category(eval.policy->categories()[i].def->id);
      c->set_state(StateToProto(v.state));
      c->set_allowed(v.allowed);
      c->set_reason(ReasonToProto(v.reason));
      if (v.choice != nullptr) {
        SetTimestamp(v.choice->decided_at, c->mutable_decided_at());
        SetTimestamp(v.expires_at, c->mutable_expires_at());
      }
    }
    out.set_banner_required(summary.banner_required);
    if (summary.earliest_expiry != absl::InfiniteFuture()) {
      SetTimestamp(summary.earliest_expiry, out.mutable_expires_at());
    }
    out.set_current_policy_version(eval.policy->version());
    for (const auto& [signal, granted] :
         ConsentModeSignals(*eval.policy, summary)) {
      (*out.mutable_consent_mode_signals())[signal] = granted;
    }
    return SerializeResponse(out, response);
  };
  if (as_of || !policy_version.empty()) {
    WithPastSubject(call, std::move(query.subject_id), as_of,
                    std::move(policy_version), std::move(answer));
  } else {
    WithSubject(call, *std::move(snapshot), std::move(query),
                std::move(answer));
  }
  return call.reactor();
}

grpc::ServerUnaryReactor* ConsentServiceImpl::LinkSubjects(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kLinkSubjects);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::LinkSubjectsRequest req;
  absl::Status s = ParseValidRequest(*request, &req);
  if (!s.ok()) return call.Fail(s);
  absl::StatusOr<Snapshot> snapshot = CurrentPolicy(ctx_.policies);
  if (!snapshot.ok()) return call.Fail(snapshot.status());
  LinkRequest link;
  link.device_subject_id = req.device_subject_id();
  link.account_subject_id = req.account_subject_id();
  link.rule = req.merge_rule() == consent::v1::MERGE_RULE_MOST_RESTRICTIVE
                  ? MergeRule::kMostRestrictive
                  : MergeRule::kMostRecent;
  link.policy_version = (*snapshot)->current()->version();
  link.actor = caller->principal;
  return RunQueued(
      ctx_.work, call,
      [this, call, response, link = std::move(link)]() mutable {
        link.now = absl::FromUnixMicros(absl::ToUnixMicros(ctx_.clock->Now()));
        absl::StatusOr<LinkOutcome> outcome =
            ctx_.store->LinkSubjects(link, CallDeadline(*call.context()));
        // Whatever happened, neither is trusted from memory here any more.
        ctx_.cache->Erase(link.device_subject_id);
        ctx_.cache->Erase(link.account_subject_id);
        if (!outcome.ok()) return ToGrpcStatus(outcome.status());
        if (outcome->merged) ctx_.metrics->CountDecision(ConsentSource::kLink);
        consent::v1::LinkSubjectsResponse out;
        out.set_consent_version(outcome->consent_version);
        out.set_merged(outcome->merged);
        out.set_already_linked(outcome->already_linked);
        return SerializeResponse(out, response);
      });
}

grpc::ServerUnaryReactor* ConsentServiceImpl::UnlinkSubjects(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  const Call call(context, ctx_, Rpc::kUnlinkSubjects);
  absl::StatusOr<Credential> caller = Authorize(ctx_, *context, call.rpc());
  if (!caller.ok()) return call.Fail(caller.status());
  consent::v1::UnlinkSubjectsRequest req;
  absl::Status s = ParseRequest(*request, &req);
  if (s.ok())
    s = ValidateSubjectId(req.device_subject_id(), "device_subject_id");
  if (!s.ok()) return call.Fail(s);
  return RunQueued(
      ctx_.work, call,
      [this, call, response, req = std::move(req),
       actor = caller->principal]() {
        absl::StatusOr<std::string> account = ctx_.store->UnlinkSubjects(
            req.device_subject_id(), actor,
            absl::FromUnixMicros(absl::ToUnixMicros(ctx_.clock->Now())),
            CallDeadline(*call.context()));
        ctx_.cache->Erase(req.device_subject_id());
        if (!account.ok()) return ToGrpcStatus(account.status());
        consent::v1::UnlinkSubjectsResponse out;
        out.set_account_subject_id(*account);
        return SerializeResponse(out, response);
      });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* ConsentServiceImpl::WatchConsent(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  ctx_.metrics->RpcStarted(Rpc::kWatchConsent);
  const absl::Time start = absl::Now();
  consent::v1::WatchConsentRequest req;
  absl::Status s = Authorize(ctx_, *context, Rpc::kWatchConsent).status();
  if (s.ok()) s = ParseRequest(*request, &req);
  absl::StatusOr<int64_t> after = SequenceOfCursor(req.after_cursor());
  if (s.ok()) s = after.status();
  if (!s.ok()) {
    ctx_.metrics->RpcHandled(Rpc::kWatchConsent, ToGrpcStatus(s).error_code(),
                             absl::Now() - start);
    return FailedStream(s);
  }
  // From now on: after the log's head when the stream starts.
  const int64_t from =
      req.after_cursor().empty() && req.from_now() ? -1 : *after;
  return WatchChanges(ctx_, from, start);
}

}  // namespace consentd
