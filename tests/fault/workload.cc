#include "tests/fault/workload.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "consent/v1/audit.grpc.pb.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

// The codes a fault may cause; a retry with the same key settles them.
bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::CANCELLED;
}

void Prepare(grpc::ClientContext& context, absl::Duration deadline,
             const char* token = kAppToken) {
  context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
}

}  // namespace

Replicas::Replicas(std::string db_url, std::vector<std::string> flags)
    : db_url_(std::move(db_url)), flags_(std::move(flags)) {
  absl::MutexLock lock(&mu_);
  for (auto& server : servers_) {
    server = std::make_shared<ProcessServer>(db_url_, flags_);
  }
}

Replicas::~Replicas() {
  absl::MutexLock lock(&mu_);
  for (auto& server : servers_) server.reset();
}

std::shared_ptr<ProcessServer> Replicas::Get(int i) const {
  absl::MutexLock lock(&mu_);
  return servers_[i];
}

void Replicas::Stop(int i, int signal) {
  std::shared_ptr<ProcessServer> server = Get(i);
  kill(server->pid(), signal);
  int status = 0;
  EXPECT_TRUE(Eventually(
      [&] { return waitpid(server->pid(), &status, WNOHANG) == server->pid(); },
      absl::Seconds(30)))
      << "replica " << i << " did not exit on signal " << signal;
  if (signal == SIGTERM) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "replica " << i << " exit status " << status << ":\n"
        << server->Log();
  }
  server->ForgetProcess();
}

void Replicas::Restart(int i) {
  auto fresh = std::make_shared<ProcessServer>(db_url_, flags_);
  absl::MutexLock lock(&mu_);
  servers_[i] = std::move(fresh);
}

Workload::Workload(Replicas* replicas, WorkloadOptions options)
    : replicas_(replicas), options_(options) {
  absl::MutexLock lock(&mu_);
  writes_.resize(options_.clients);
}

Workload::~Workload() { Stop(); }

void Workload::Start() {
  for (int c = 0; c < options_.clients; ++c) {
    threads_.emplace_back([this, c] { Client(c); });
  }
}

void Workload::Stop() {
  stop_ = true;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

bool Workload::Done() const { return done_clients_.load() == options_.clients; }

void Workload::Note(const std::string& unexpected) {
  absl::MutexLock lock(&mu_);
  unexpected_.push_back(unexpected);
}

bool Workload::Attempt(WriteRecord& write, int i, absl::Duration deadline) {
  std::shared_ptr<ProcessServer> server = replicas_->Get(i);
  consent::v1::RecordConsentRequest request;
  request.set_subject_id(write.subject);
  request.set_policy_version("2026-01-12");
  (*request.mutable_choices())["marketing"] = write.marketing;
  (*request.mutable_choices())["statistics"] = write.statistics;
  request.set_source(consent::v1::SOURCE_BANNER);
  request.set_idempotency_key(write.key);
  consent::v1::RecordConsentResponse response;
  grpc::ClientContext context;
  Prepare(context, deadline);
  AttemptRecord attempt;
  attempt.key = write.key;
  attempt.replica = i;
  attempt.deadline = deadline;
  attempt.sent = absl::Now();
  const grpc::Status status =
      server->consent().RecordConsent(&context, request, &response);
  attempt.replied = absl::Now();
  attempt.code = status.error_code();
  {
    absl::MutexLock lock(&mu_);
    attempts_.push_back(attempt);
  }
  ++write.attempts;
  if (status.ok()) {
    write.acked = true;
    write.replayed = response.replayed();
    write.version = response.consent_version();
    write.acked_at = attempt.replied;
    return true;
  }
  if (!Retryable(status.error_code())) {
    Note(absl::StrCat("RecordConsent ", write.key, " on replica ", i, ": code ",
                      status.error_code(), " ", status.error_message()));
  }
  return false;
}

void Workload::Client(int client) {
  absl::BitGen random;
  std::vector<int64_t> last_acked(options_.subjects_per_client, 0);
  // Writes that got no answer yet: retried with their keys now and then,
  // while the client goes on checking and writing (as a backend whose
  // queue of pending writes drains when the service is back).
  std::vector<WriteRecord> pending;
  int writes = 0;
  bool counted_done = false;
  auto settle = [&](WriteRecord write) {
    if (write.acked) {
      const int k =
          std::stoi(write.subject.substr(write.subject.find("-s") + 2));
      last_acked[k] = std::max(last_acked[k], write.version);
    }
    absl::MutexLock lock(&mu_);
    writes_[client].push_back(std::move(write));
  };
  while (!stop_) {
    const bool all_made =
        options_.writes_per_client > 0 && writes >= options_.writes_per_client;
    if (all_made && pending.empty()) {
      if (!counted_done) ++done_clients_;
      counted_done = true;
      absl::SleepFor(absl::Milliseconds(5));  // Idle until stopped.
      continue;
    }
    int replica = absl::Uniform(random, 0, 2);
    if (!pending.empty() && (all_made || absl::Bernoulli(random, 0.3))) {
      WriteRecord write = std::move(pending.front());
      pending.erase(pending.begin());
      if (Attempt(write, replica, options_.call_deadline)) {
        settle(std::move(write));
      } else {
        pending.push_back(std::move(write));
        absl::SleepFor(absl::Milliseconds(10));  // Back off.
      }
      continue;
    }
    const int k = absl::Uniform(random, 0, options_.subjects_per_client);
    const std::string subject = absl::StrCat("c", client, "-s", k);
    if (!all_made && absl::Bernoulli(random, 0.5)) {
      WriteRecord write;
      write.subject = subject;
      write.key = absl::StrCat("c", client, "-w", writes++);
      write.marketing = absl::Bernoulli(random, 0.5);
      write.statistics = absl::Bernoulli(random, 0.5);
      const absl::Duration deadline =
          absl::Bernoulli(random, options_.short_deadline_share)
              ? absl::Milliseconds(absl::Uniform(random, 1, 21))
              : options_.call_deadline;
      if (Attempt(write, replica, deadline)) {
        settle(std::move(write));
      } else {
        pending.push_back(std::move(write));
      }
      continue;
    }
    CheckRecord check;
    check.subject = subject;
    check.replica = replica;
    check.min_version = absl::Bernoulli(random, 0.5) ? last_acked[k] : 0;
    consent::v1::CheckCookieRequest request;
    request.set_subject_id(subject);
    request.set_cookie_name("ia_mkt_source");
    request.set_min_consent_version(check.min_version);
    consent::v1::CheckCookieResponse response;
    grpc::ClientContext context;
    Prepare(context, options_.call_deadline);
    std::shared_ptr<ProcessServer> server = replicas_->Get(replica);
    check.sent = absl::Now();
    const grpc::Status status =
        server->consent().CheckCookie(&context, request, &response);
    check.replied = absl::Now();
    check.code = status.error_code();
    check.allowed = response.allowed();
    check.version = response.consent_version();
    if (!status.ok() && !Retryable(status.error_code())) {
      Note(absl::StrCat("CheckCookie ", subject, " min ", check.min_version,
                        " on replica ", replica, ": code ", status.error_code(),
                        " ", status.error_message()));
    }
    if (!status.ok()) absl::SleepFor(absl::Milliseconds(5));  // Back off.
    absl::MutexLock lock(&mu_);
    checks_.push_back(check);
  }
  for (WriteRecord& write : pending) settle(std::move(write));
}

void Workload::RetryUnanswered(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  for (auto& client : writes_) {
    for (WriteRecord& write : client) {
      int replica = 0;
      while (!write.acked && absl::Now() < deadline) {
        mu_.Unlock();
        const bool answered = Attempt(write, replica, options_.call_deadline);
        mu_.Lock();
        if (!answered) {
          replica = 1 - replica;
          absl::SleepFor(absl::Milliseconds(50));  // Back off.
        }
      }
    }
  }
}

int64_t Workload::acked_writes() const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& client : writes_) {
    for (const WriteRecord& w : client) n += w.acked ? 1 : 0;
  }
  return n;
}

std::vector<AttemptRecord> Workload::attempts() const {
  absl::MutexLock lock(&mu_);
  return attempts_;
}

std::vector<WriteRecord> Workload::writes() const {
  absl::MutexLock lock(&mu_);
  std::vector<WriteRecord> all;
  for (const auto& client : writes_) {
    all.insert(all.end(), client.begin(), client.end());
  }
  return all;
}

std::vector<std::string> Workload::UnexpectedErrors() const {
  absl::MutexLock lock(&mu_);
  return unexpected_;
}

void Workload::Verify(PgCluster& db, absl::Duration bound) {
  absl::MutexLock lock(&mu_);
  for (const std::string& u : unexpected_) ADD_FAILURE() << "unexpected: " << u;

  // The history of every subject, as support reads it.
  std::shared_ptr<ProcessServer> server = replicas_->Get(0);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server->port()),
                                     grpc::InsecureChannelCredentials());
  auto audit = consent::v1::AuditService::NewStub(channel);
  std::map<std::string, std::map<int64_t, consent::v1::HistoryEntry>> history;
  int64_t writes_made = 0;
  std::set<std::string> subjects;
  for (const auto& client : writes_) {
    for (const WriteRecord& w : client) {
      subjects.insert(w.subject);
      ++writes_made;
    }
  }
  for (const CheckRecord& c : checks_) subjects.insert(c.subject);
  for (const std::string& subject : subjects) {
    consent::v1::GetHistoryRequest request;
    request.set_subject_id(subject);
    consent::v1::GetHistoryResponse response;
    grpc::ClientContext context;
    Prepare(context, absl::Seconds(30), kSupportToken);
    const grpc::Status s = audit->GetHistory(&context, request, &response);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
    ASSERT_TRUE(s.ok()) << subject << ": " << s.error_message();
    int64_t expected = 1;
    std::set<std::string> keys;
    for (const consent::v1::HistoryEntry& e : response.decisions()) {
      // Versions per subject: 1, 2, 3... with no gap or duplicate.
      EXPECT_EQ(e.consent_version(), expected++) << subject;
      EXPECT_TRUE(keys.insert(e.idempotency_key()).second)
          << subject << ": key " << e.idempotency_key() << " twice";
      history[subject][e.consent_version()] = e;
    }
  }

  // Every write was answered in the end, and what was acknowledged is there
  // with its version and choices.
  int64_t acked = 0;
  for (const auto& client : writes_) {
    for (const WriteRecord& w : client) {
      if (!w.acked) {
        ADD_FAILURE() << "write " << w.key << " was never answered";
        continue;
      }
      ++acked;
      auto subject = history.find(w.subject);
      ASSERT_NE(subject, history.end()) << w.key;
      auto entry = subject->second.find(w.version);
      ASSERT_NE(entry, subject->second.end())
          << "acknowledged write " << w.key << " (version " << w.version
          << ") is not in the history of " << w.subject;
      EXPECT_EQ(entry->second.idempotency_key(), w.key);
      EXPECT_EQ(entry->second.choices().at("marketing"), w.marketing) << w.key;
      EXPECT_EQ(entry->second.choices().at("statistics"), w.statistics)
          << w.key;
    }
  }
  // Exactly one decision per logical write, and one audit event each (of
  // the workload's subjects: a test may write others).
  const std::string ours = "subject_id ~ '^c[0-9]+-s[0-9]+$'";
  EXPECT_EQ(db.Count("SELECT count(*) FROM decisions WHERE " + ours),
            writes_made);
  EXPECT_EQ(db.Count("SELECT count(DISTINCT (subject_id, idempotency_key)) "
                     "FROM decisions WHERE " +
                     ours),
            writes_made);
  EXPECT_EQ(db.Count("SELECT count(*) FROM audit_events WHERE action = "
                     "'decision' AND " +
                     ours),
            writes_made);

  // Every check answer follows from the history.
  int64_t answered = 0;
  for (const CheckRecord& c : checks_) {
    if (c.code != grpc::StatusCode::OK) continue;
    ++answered;
    EXPECT_GE(c.version, c.min_version)
        << "a check of " << c.subject << " with min_consent_version "
        << c.min_version << " answered from version " << c.version;
    bool expected_allowed = false;  // Opt-in by default: no decision denies.
    if (c.version > 0) {
      const auto& entries = history[c.subject];
      auto entry = entries.find(c.version);
      if (entry == entries.end()) {
        ADD_FAILURE() << "a check of " << c.subject << " answered from version "
                      << c.version << ", which is not in its history";
        continue;
      }
      for (const consent::v1::CategoryValue& v : entry->second.standing()) {
        if (v.category() == "marketing") expected_allowed = v.granted();
      }
    }
    EXPECT_EQ(c.allowed, expected_allowed)
        << "a check of " << c.subject << " at version " << c.version;
    // Bounded staleness: a write acknowledged before sent - bound is seen.
    int64_t must_see = 0;
    for (const auto& client : writes_) {
      for (const WriteRecord& w : client) {
        if (w.acked && w.subject == c.subject && w.acked_at < c.sent - bound) {
          must_see = std::max(must_see, w.version);
        }
      }
    }
    EXPECT_GE(c.version, must_see)
        << "replica " << c.replica << " answered a check of " << c.subject
        << " from version " << c.version << " although version " << must_see
        << " was acknowledged more than " << bound << " before";
  }
  int64_t retried = 0, replayed = 0;
  for (const auto& client : writes_) {
    for (const WriteRecord& w : client) {
      retried += w.attempts > 1 ? 1 : 0;
      replayed += w.replayed ? 1 : 0;
    }
  }
  std::cout << "[ figures  ] " << writes_made << " writes (" << acked
            << " acknowledged, " << retried << " after a retry, " << replayed
            << " of them committed by an unanswered attempt), "
            << checks_.size() << " checks (" << answered << " answered, "
            << checks_.size() - answered << " refused)\n";
  EXPECT_GT(answered, 0);

  // The audit log holds, once every event is sealed.
  EXPECT_TRUE(Eventually(
      [&] { return db.Count("SELECT count(*) FROM audit_unsealed") == 0; },
      absl::Seconds(30)));
  consent::v1::VerifyAuditLogResponse verified;
  grpc::ClientContext context;
  Prepare(context, absl::Seconds(60), kSupportToken);
  ASSERT_TRUE(audit
                  ->VerifyAuditLog(
                      &context, consent::v1::VerifyAuditLogRequest(), &verified)
                  .ok());
  EXPECT_TRUE(verified.ok()) << verified.DebugString();
}

}  // namespace consentd::testing
