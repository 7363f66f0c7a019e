// Regression test for the fault the fault-injection suite found
// (docs/faults.md, "Faults the suite found"): a pooled connection handed back
// while its session was still inside a failed transaction block, so that
// every later statement on it failed with SQLSTATE 25P02 ("current
// transaction is aborted") until the process restarted. Database::
// ReleaseAfterError (storage/database.cc) now probes such a connection, rolls
// back what is left, and closes it if that does not help.
//
// In the wild the state came from a ROLLBACK cut short by a statement timeout
// of a millisecond, which no test can time. Here each body puts the session
// in exactly that state deterministically: it ends the transaction as libpqxx
// knows it, opens a transaction block behind libpqxx's back and lets an
// error out of it, so nothing rolls the block back before the connection
// returns to the pool. With a pool of one connection, the very next Read and
// Transact get that connection: they must succeed.
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/status.h"
#include "migrations/embedded.h"
#include "storage/database.h"
#include "storage/migrator.h"
#include "tests/integration/test_env.h"

namespace consentd::testing {
namespace {

class DatabaseReleaseTest : public ::testing::Test {
 protected:
  DatabaseReleaseTest() {
    // Every pooled connection prepares consentd's statements: the schema
    // must be there.
    absl::StatusOr<MigrationReport> migrated =
        Migrate(db_.url(), EmbeddedMigrations());
    EXPECT_TRUE(migrated.ok()) << migrated.status();
    db_.Query("CREATE TABLE release_test (k text PRIMARY KEY)");
    db_.Query("INSERT INTO release_test VALUES ('taken')");
    absl::StatusOr<std::unique_ptr<Database>> database =
        Database::Open(DatabaseOptions{.url = db_.url(), .pool_size = 1});
    EXPECT_TRUE(database.ok()) << database.status();
    if (database.ok()) database_ = *std::move(database);
  }

  // The backend pid of the pool's (only) connection, read in a Read.
  absl::StatusOr<int> BackendPid() {
    int pid = 0;
    absl::Status s =
        database_->Read("backend pid", [&](pqxx::transaction_base& tx) {
          pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    return pid;
  }

  // What must hold after any failed transaction: the next Read and the next
  // Transact on the pool of one succeed, on a session outside any
  // transaction block whose SET LOCALs are gone. `pid_before`: the pool's
  // connection before the failure; the cleaned connection is reused.
  void ExpectPoolUsable(int pid_before) {
    absl::StatusOr<int> pid = BackendPid();
    ASSERT_TRUE(pid.ok()) << "the next Read failed: " << pid.status();
    EXPECT_EQ(*pid, pid_before)
        << "the connection was replaced rather than rolled back";
    std::string timeout;
    absl::Status read =
        database_->Read("settings", [&](pqxx::transaction_base& tx) {
          timeout = tx.exec1("SELECT current_setting('statement_timeout')")[0]
                        .as<std::string>();
          return absl::OkStatus();
        });
    ASSERT_TRUE(read.ok()) << read;
    EXPECT_EQ(timeout, "5s") << "a SET LOCAL of the failed block survived";
    absl::Status write =
        database_->Transact("write", [&](pqxx::transaction_base& tx) {
          tx.exec("INSERT INTO release_test VALUES ('after')");
          return absl::OkStatus();
        });
    ASSERT_TRUE(write.ok()) << "the next Transact failed: " << write;
    EXPECT_EQ(db_.Count("SELECT count(*) FROM release_test WHERE k = 'after'"),
              1);
    const Database::PoolStats stats = database_->Stats();
    EXPECT_EQ(stats.open, 1);
    EXPECT_EQ(stats.idle, 1);
  }

  TestDatabase db_;
  std::unique_ptr<Database> database_;
};

// Leaves the session of `tx` inside a transaction block in which `failing`
// failed, and lets that error out of the body (a pqxx::sql_error).
absl::Status FailInAnAbortedBlock(pqxx::transaction_base& tx,
                                  const std::string& failing) {
  tx.abort();  // ROLLBACK; libpqxx now considers the connection free.
  pqxx::nontransaction raw(tx.conn());
  raw.exec("BEGIN");
  raw.exec(failing);  // Throws; a nontransaction never rolls back.
  ADD_FAILURE() << "expected to fail: " << failing;
  return absl::OkStatus();
}

TEST_F(DatabaseReleaseTest, StatementCancelledByItsTimeout) {
  // 57014, query_canceled: the path of a call whose deadline cut its
  // statement short, as in the fault.
  ASSERT_NE(database_, nullptr);
  absl::StatusOr<int> pid = BackendPid();
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::Status s =
      database_->Transact("cancelled", [](pqxx::transaction_base& tx) {
        tx.abort();
        pqxx::nontransaction raw(tx.conn());
        raw.exec("BEGIN");
        raw.exec("SET LOCAL statement_timeout = 100");
        raw.exec("SELECT pg_sleep(5)");
        ADD_FAILURE() << "pg_sleep(5) was not cancelled";
        return absl::OkStatus();
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  ExpectPoolUsable(*pid);
}

TEST_F(DatabaseReleaseTest, ErrorThrownMidTransaction) {
  // 22012, division by zero: any database error but the retried ones ends
  // as Internal, and must not poison the connection.
  ASSERT_NE(database_, nullptr);
  absl::StatusOr<int> pid = BackendPid();
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::Status s = database_->Read("failing", [](pqxx::transaction_base& tx) {
    return FailInAnAbortedBlock(tx, "SELECT 1 / 0");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal) << s;
  ExpectPoolUsable(*pid);
}

TEST_F(DatabaseReleaseTest, UniqueViolation) {
  ASSERT_NE(database_, nullptr);
  absl::StatusOr<int> pid = BackendPid();
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::Status s =
      database_->Transact("duplicate", [](pqxx::transaction_base& tx) {
        return FailInAnAbortedBlock(
            tx, "INSERT INTO release_test VALUES ('taken')");
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  ExpectPoolUsable(*pid);
}

TEST_F(DatabaseReleaseTest, RetriedSerializationFailureRunsOnACleanSession) {
  // 40001 is retried on the pool's next connection, here the same one: the
  // second attempt must find it clean (and so succeed).
  ASSERT_NE(database_, nullptr);
  absl::StatusOr<int> pid = BackendPid();
  ASSERT_TRUE(pid.ok()) << pid.status();
  int attempts = 0;
  absl::Status s =
      database_->Transact("conflicted", [&](pqxx::transaction_base& tx) {
        if (++attempts == 1) {
          return FailInAnAbortedBlock(
              tx,
              "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = "
              "'40001'; END $$");
        }
        tx.exec("INSERT INTO release_test VALUES ('retried')");
        return absl::OkStatus();
      });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(db_.Count("SELECT count(*) FROM release_test WHERE k = 'retried'"),
            1);
  ExpectPoolUsable(*pid);
}

}  // namespace
}  // namespace consentd::testing
