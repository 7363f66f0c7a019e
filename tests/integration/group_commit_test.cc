// Group commit against a real PostgreSQL: a batch of decisions is one
// transaction, yet each decision is answered as if it had been written
// alone, and none fails because of another.
#include "storage/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "storage/audit_keys.h"
#include "storage/consent_store.h"
#include "storage/database.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

class GroupCommitTest : public IntegrationTest {
 protected:
  GroupCommitTest() {
    absl::StatusOr<std::unique_ptr<Database>> db =
        Database::Open(DatabaseOptions{.url = db_.url(), .pool_size = 4});
    EXPECT_TRUE(db.ok()) << db.status();
    database_ = *std::move(db);
    keys_ = std::make_unique<AuditKeys>(AuditKeys::ForTesting());
    store_ = std::make_unique<ConsentStore>(database_.get(), keys_.get());
  }

  static Decision MakeDecision(const std::string& subject, bool statistics,
                               const std::string& key = "",
                               int64_t expected_version = 0) {
    Decision d;
    d.subject_id = subject;
    d.policy_version = "2026-01-12";
    d.choices = {{"statistics", statistics}};
    d.source = ConsentSource::kApi;
    d.idempotency_key = key;
    d.expected_version = expected_version;
    d.actor = "group-commit-test";
    d.recorded_at = absl::FromUnixSeconds(1769904000);
    return d;
  }

  int64_t Decisions(const std::string& subject) const {
    return db_.Count("SELECT count(*) FROM decisions WHERE subject_id = '" +
                     subject + "'");
  }

  std::unique_ptr<Database> database_;
  std::unique_ptr<AuditKeys> keys_;
  std::unique_ptr<ConsentStore> store_;
};

TEST_F(GroupCommitTest, EachDecisionOfABatchIsAnsweredAsIfAlone) {
  ASSERT_TRUE(
      store_->RecordDecision(MakeDecision("replayed", true, "k-1")).ok());
  ASSERT_TRUE(store_->RecordDecision(MakeDecision("conflicted", true)).ok());
  ASSERT_TRUE(store_->RecordDecision(MakeDecision("conflicted", false)).ok());

  const Decision fresh = MakeDecision("fresh", true);
  const Decision replay = MakeDecision("replayed", true, "k-1");
  const Decision reused_key = MakeDecision("replayed", false, "k-1");
  const Decision conflict = MakeDecision("conflicted", true, "", 1);
  const Decision first = MakeDecision("twice", true);
  const Decision second = MakeDecision("twice", false, "", 1);
  const ConsentStore::BatchEntry batch[] = {
      {&fresh}, {&replay}, {&reused_key}, {&conflict}, {&first}, {&second}};
  std::vector<absl::StatusOr<RecordOutcome>> out =
      store_->RecordDecisions(batch);
  ASSERT_EQ(out.size(), 6u);

  ASSERT_TRUE(out[0].ok()) << out[0].status();
  EXPECT_EQ(out[0]->consent_version, 1);
  EXPECT_FALSE(out[0]->replayed);
  EXPECT_EQ(out[0]->state.consent_version, 1);

  ASSERT_TRUE(out[1].ok()) << out[1].status();
  EXPECT_TRUE(out[1]->replayed);
  EXPECT_EQ(out[1]->consent_version, 1);

  EXPECT_EQ(out[2].status().code(), absl::StatusCode::kAlreadyExists);

  EXPECT_EQ(out[3].status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(out[3].status().message().find("current version is 2"),
            std::string::npos)
      << out[3].status();

  // Two decisions of one subject in one batch apply in the order given: the
  // second's expected_version is the first's result.
  ASSERT_TRUE(out[4].ok()) << out[4].status();
  ASSERT_TRUE(out[5].ok()) << out[5].status();
  EXPECT_EQ(out[4]->consent_version, 1);
  EXPECT_EQ(out[5]->consent_version, 2);
  EXPECT_EQ(out[5]->state.consent_version, 2);
  ASSERT_EQ(out[5]->state.choices.size(), 1u);
  EXPECT_FALSE(out[5]->state.choices[0].granted);

  EXPECT_EQ(Decisions("fresh"), 1);
  EXPECT_EQ(Decisions("replayed"), 1);
  EXPECT_EQ(Decisions("conflicted"), 2);
  EXPECT_EQ(Decisions("twice"), 2);
  // One audit event per written decision: 3 before the batch, 3 in it.
  EXPECT_EQ(db_.Count("SELECT count(*) FROM audit_events "
                      "WHERE action = 'decision'"),
            6);
  EXPECT_EQ(db_.Query("SELECT string_agg(subject_id || ':' || "
                      "consent_version, ',' ORDER BY subject_id) "
                      "FROM subjects"),
            "conflicted:2,fresh:1,replayed:1,twice:2");
}

TEST_F(GroupCommitTest, ADecisionTheDatabaseRefusesDoesNotFailTheOthers) {
  Decision unknown_policy = MakeDecision("refused", true);
  unknown_policy.policy_version = "1999-01-01";  // Not published: a FK error.
  const Decision ok1 = MakeDecision("ok-1", true);
  const Decision ok2 = MakeDecision("ok-2", false);
  const ConsentStore::BatchEntry batch[] = {{&ok1}, {&unknown_policy}, {&ok2}};
  std::vector<absl::StatusOr<RecordOutcome>> out =
      store_->RecordDecisions(batch);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].ok()) << out[0].status();
  EXPECT_FALSE(out[1].ok());
  EXPECT_TRUE(out[2].ok()) << out[2].status();
  EXPECT_EQ(Decisions("ok-1"), 1);
  EXPECT_EQ(Decisions("ok-2"), 1);
  EXPECT_EQ(Decisions("refused"), 0);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM subjects WHERE subject_id = "
                      "'refused'"),
            0);
}

TEST_F(GroupCommitTest, ADecisionIsNeverWrittenAfterItsOwnDeadline) {
  const Decision late = MakeDecision("late", true);
  const Decision on_time = MakeDecision("on-time", true);
  const ConsentStore::BatchEntry batch[] = {
      {&on_time, absl::Now() + absl::Seconds(30)},
      {&late, absl::Now() - absl::Milliseconds(1)}};
  std::vector<absl::StatusOr<RecordOutcome>> out =
      store_->RecordDecisions(batch);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].ok()) << out[0].status();
  EXPECT_EQ(out[1].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Decisions("on-time"), 1);
  EXPECT_EQ(Decisions("late"), 0);
}

TEST_F(GroupCommitTest, ConcurrentSubmissionsShareTransactions) {
  std::atomic<int> batches{0}, largest{0};
  auto committer = std::make_unique<GroupCommitter>(
      store_.get(),
      GroupCommitter::Options{
          .committers = 1, .max_batch = 64, .observe_batch = [&](size_t n) {
            ++batches;
            int seen = largest.load();
            while (static_cast<int>(n) > seen &&
                   !largest.compare_exchange_weak(seen, static_cast<int>(n))) {
            }
          }});
  constexpr int kDecisions = 400;
  std::atomic<int> ok{0}, answered{0};
  absl::Notification all_answered;
  for (int i = 0; i < kDecisions; ++i) {
    // Eight subjects: each gets kDecisions / 8 versions, in order.
    committer->Submit(MakeDecision("shared-" + std::to_string(i % 8),
                                   i % 2 == 0, "key-" + std::to_string(i)),
                      absl::Now() + absl::Seconds(60),
                      [&](absl::StatusOr<RecordOutcome> outcome) {
                        if (outcome.ok() && !outcome->replayed) ++ok;
                        if (++answered == kDecisions) all_answered.Notify();
                      });
  }
  ASSERT_TRUE(all_answered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  committer.reset();
  EXPECT_EQ(ok.load(), kDecisions);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM decisions WHERE subject_id LIKE "
                      "'shared-%'"),
            kDecisions);
  // Versions per subject are 1..50 with no gap or duplicate.
  EXPECT_EQ(db_.Count("SELECT count(*) FROM (SELECT subject_id, "
                      "max(consent_version) m, count(*) c FROM decisions "
                      "WHERE subject_id LIKE 'shared-%' GROUP BY subject_id) x "
                      "WHERE m = 50 AND c = 50"),
            8);
  EXPECT_LT(batches.load(), kDecisions) << "no two decisions shared a commit";
  EXPECT_GT(largest.load(), 1);
}

}  // namespace
}  // namespace consentd::testing
