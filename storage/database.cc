#include "storage/database.h"

#include <unistd.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "storage/logging.h"
#include "storage/statements.h"

namespace consentd {

struct Database::Connection {
  explicit Connection(const std::string& url) : conn(url) {}
  pqxx::connection conn;
};

namespace {

// SQLSTATE classes that mean "this connection or server is going away":
// 08 connection exception, 57P01..57P05 shutdown and cancel by admin.
// The first line of a PostgreSQL error, at most 200 bytes: without the
// DETAIL lines, which may quote the data (subject ids).
std::string FirstLine(absl::string_view message) {
  message = message.substr(0, message.find('\n'));
  return std::string(message.substr(0, 200));
}

bool IsConnectionLoss(const std::string& sqlstate) {
  return absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "57P");
}

}  // namespace

std::string WithConnectionOption(const std::string& url, absl::string_view key,
                                 absl::string_view value) {
  if (absl::StrContains(url, absl::StrCat(key, "="))) return url;
  const std::string option = absl::StrCat(key, "=", value);
  if (absl::StartsWith(url, "postgresql://") ||
      absl::StartsWith(url, "postgres://")) {
    return absl::StrCat(url, absl::StrContains(url, "?") ? "&" : "?", option);
  }
  return absl::StrCat(url, url.empty() ? "" : " ", option);
}

std::string WithConnectTimeout(const std::string& url, int seconds) {
  return WithConnectionOption(url, "connect_timeout", absl::StrCat(seconds));
}

void InhibitReactivation(pqxx::connection_base& conn) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn.inhibit_reactivation(true);
#pragma GCC diagnostic pop
}

std::string SqlTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", t, absl::UTCTimeZone());
}

Database::Database(DatabaseOptions options) : options_(std::move(options)) {}

Database::~Database() = default;

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    DatabaseOptions options) {
  std::unique_ptr<Database> db(new Database(std::move(options)));
  absl::StatusOr<std::unique_ptr<Connection>> conn = db->Acquire();
  if (!conn.ok()) return conn.status();
  std::string encoding;
  try {
    pqxx::nontransaction tx((*conn)->conn);
    encoding = tx.exec1(sql::kServerEncoding)[0].as<std::string>();
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot query the database: ", e.what()));
  }
  db->Release(*std::move(conn), /*broken=*/false);
  if (encoding != "UTF8") {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database's encoding is ", encoding,
        "; consentd needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')"));
  }
  return db;
}

absl::StatusOr<std::unique_ptr<Database::Connection>> Database::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    const auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    ++waiters_;
    const bool got = mu_.AwaitWithTimeout(absl::Condition(&available),
                                          options_.acquire_timeout);
    --waiters_;
    if (!got) {
      return absl::UnavailableError(
          absl::StrCat("no free database connection within ",
                       absl::FormatDuration(options_.acquire_timeout)));
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;
  }
  // Open a new connection outside the lock.
  try {
    auto conn = std::make_unique<Connection>(WithConnectionOption(
        WithConnectTimeout(options_.url, options_.connect_timeout_seconds),
        "application_name", absl::StrCat("consentd/", getpid())));
    InhibitReactivation(conn->conn);
    conn->conn.set_client_encoding("UTF8");
    {
      // No statement or lock wait may hold a pooled connection (and the call
      // waiting on it) for long; a transaction left open is cut off.
      pqxx::nontransaction session(conn->conn);
      session.exec(SessionSettingsSql(
          absl::ToInt64Milliseconds(options_.statement_timeout)));
    }
    for (const Statement& s : AllStatements()) {
      conn->conn.prepare(std::string(s.name), std::string(s.sql));
      conn->conn.prepare_now(std::string(s.name));  // Fail here, not later.
    }
    bool back = false;
    {
      absl::MutexLock lock(&mu_);
      back = !reachable_;
      reachable_ = true;
    }
    // The pair of the warnings above: an outage's end is in the log too.
    if (back) spdlog::info("connected to the database again");
    return conn;
  } catch (const std::exception& e) {
    absl::MutexLock lock(&mu_);
    --open_;
    reachable_ = false;
    spdlog::warn("cannot connect to the database: {}", e.what());
    return absl::UnavailableError(
        absl::StrCat("database unreachable: ", e.what()));
  }
}

void Database::Release(std::unique_ptr<Connection> connection, bool broken) {
  broken = broken || !connection->conn.is_open();
  if (!broken) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(connection));
    return;
  }
  // One lost connection usually means the server restarted or terminated
  // every backend: close the idle ones too rather than fail on each in turn.
  std::vector<std::unique_ptr<Connection>> closing;
  {
    absl::MutexLock lock(&mu_);
    closing.swap(idle_);
    open_ -= 1 + static_cast<int>(closing.size());
  }
  connection.reset();  // Close outside the lock.
}

void Database::ReleaseAfterError(std::unique_ptr<Connection> connection) {
  bool usable = false;
  for (int attempt = 0; attempt < 2 && !usable && connection->conn.is_open();
       ++attempt) {
    try {
      pqxx::nontransaction probe(connection->conn);
      probe.exec(sql::kProbe);
      usable = true;
    } catch (const std::exception&) {
      try {
        pqxx::nontransaction rollback(connection->conn);
        rollback.exec(sql::kRollback);
      } catch (const std::exception&) {
      }
    }
  }
  if (usable) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(connection));
    return;
  }
  spdlog::warn("closing a database connection left in a failed transaction");
  {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  connection.reset();  // Close outside the lock.
}

template <typename Transaction>
absl::Status Database::Run(absl::string_view what, Body body,
                           absl::Time deadline) {
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": the call's deadline passed"));
    }
    absl::StatusOr<std::unique_ptr<Connection>> conn = Acquire();
    if (!conn.ok()) return conn.status();
    bool broken = false;
    try {
      absl::Status status;
      {
        // The transaction must end before its connection goes back to the
        // pool, where another thread may take it.
        Transaction tx((*conn)->conn);
        if (remaining < options_.statement_timeout) {
          // The call's deadline cancels its statements, which rolls the
          // transaction back: nothing is left half-written.
          tx.exec(LocalStatementTimeoutSql(
              std::max<int64_t>(1, absl::ToInt64Milliseconds(remaining))));
        }
        status = body(tx);
        if (status.ok()) {
          tx.commit();
        } else {
          tx.abort();
        }
      }
      Release(*std::move(conn), false);
      return status;
    } catch (const pqxx::in_doubt_error& e) {
      Release(*std::move(conn), true);
      spdlog::error("{}: commit outcome unknown: {}", what, e.what());
      return absl::UnavailableError(absl::StrCat(
          "the database connection was lost during commit; the outcome is "
          "unknown (retry with the same idempotency_key)"));
    } catch (const pqxx::broken_connection& e) {
      broken = true;
      last = absl::UnavailableError(
          absl::StrCat("database connection lost: ", FirstLine(e.what())));
    } catch (const pqxx::statement_completion_unknown& e) {
      broken = true;
      last = absl::UnavailableError(
          absl::StrCat("database connection lost: ", FirstLine(e.what())));
    } catch (const pqxx::transaction_rollback& e) {
      // Serialization failure or deadlock: the transaction was rolled back.
      last = absl::UnavailableError(absl::StrCat(
          what,
          ": busy with concurrent updates, retry: ", FirstLine(e.what())));
    } catch (const pqxx::unique_violation& e) {
      ReleaseAfterError(*std::move(conn));
      // The server's DETAIL names the key's values (subject ids): neither
      // the client nor the log gets them.
      spdlog::warn("{}: unique violation", what);
      return absl::AlreadyExistsError(
          absl::StrCat(what, ": a record with the same key already exists"));
    } catch (const pqxx::sql_error& e) {
      if (e.sqlstate() == "57014") {  // query_canceled: statement_timeout.
        ReleaseAfterError(*std::move(conn));
        return absl::DeadlineExceededError(
            absl::StrCat(what,
                         ": the database did not answer in time; nothing was "
                         "written"));
      }
      if (absl::StartsWith(e.sqlstate(), "40") || e.sqlstate() == "55P03" ||
          e.sqlstate() == "25P02") {
        // Serialization failure, deadlock, or lock_timeout: retry. (A
        // session in a failed transaction, 25P02, should never be handed
        // out; if one is, retry on another.)
        last = absl::UnavailableError(absl::StrCat(
            what,
            ": busy with concurrent updates, retry: ", FirstLine(e.what())));
      } else if (!IsConnectionLoss(e.sqlstate())) {
        ReleaseAfterError(*std::move(conn));
        spdlog::error("{}: database error {}: {}", what, e.sqlstate(),
                      FirstLine(e.what()));
        return absl::InternalError(
            absl::StrCat(what, ": database error ", e.sqlstate()));
      } else {
        broken = true;
        last = absl::UnavailableError(
            absl::StrCat("database unavailable: ", e.what()));
      }
    } catch (const std::exception& e) {
      Release(*std::move(conn), true);
      spdlog::error("{}: {}", what, e.what());
      return absl::InternalError(absl::StrCat(what, ": ", e.what()));
    }
    if (broken) {
      Release(*std::move(conn), true);
    } else {
      ReleaseAfterError(*std::move(conn));
    }
    spdlog::warn("{}: attempt {} of {} failed: {}", what, attempt,
                 options_.max_attempts, last.message());
    if (!broken) absl::SleepFor(absl::Milliseconds(attempt));  // Back off.
  }
  return last;
}

Database::PoolStats Database::Stats() const {
  absl::MutexLock lock(&mu_);
  return PoolStats{open_, static_cast<int>(idle_.size()), waiters_, reachable_};
}

absl::Status Database::Transact(absl::string_view what, Body body,
                                absl::Time deadline) {
  return Run<pqxx::work>(what, body, deadline);
}

absl::Status Database::Read(absl::string_view what, Body body,
                            absl::Time deadline) {
  return Run<pqxx::read_transaction>(what, body, deadline);
}

}  // namespace consentd
