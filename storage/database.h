// Access to PostgreSQL: a pool of libpqxx connections, each with every
// statement of statements.h prepared, and a transaction runner that maps
// libpqxx exceptions to absl::Status in one place. Nothing outside storage/
// sees a libpqxx exception.
#ifndef CONSENTD_STORAGE_DATABASE_H_
#define CONSENTD_STORAGE_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

namespace consentd {

// Told how long each prepared statement took. Implementations are
// thread-safe and cheap (called on every statement).
class QueryObserver {
 public:
  virtual ~QueryObserver() = default;
  virtual void ObserveQuery(absl::string_view statement,
                            absl::Duration elapsed) = 0;
};

struct DatabaseOptions {
  // libpq connection string or URI.
  std::string url;
  // Connections in the pool; each belongs to one thread at a time.
  int pool_size = 8;
  // How long a caller waits for a free connection before Unavailable.
  absl::Duration acquire_timeout = absl::Seconds(5);
  // Attempts of one transaction on serialization failures, deadlocks and
  // connections lost before commit.
  int max_attempts = 5;
  // Longest a statement may run, or wait for a lock, before it is cancelled.
  absl::Duration statement_timeout = absl::Seconds(5);
  // Longest a new connection may take (unless the url sets connect_timeout).
  int connect_timeout_seconds = 3;
  // Optional; see Exec (storage/query.h).
  QueryObserver* observer = nullptr;
};

// A pool of connections to one database. Thread-safe.
class Database {
 public:
  // Checks that the database is reachable (one connection is opened and kept)
  // and that its encoding is UTF8. Unavailable when it cannot connect;
  // FailedPrecondition for another encoding.
  static absl::StatusOr<std::unique_ptr<Database>> Open(
      DatabaseOptions options);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  using Body = absl::FunctionRef<absl::Status(pqxx::transaction_base&)>;

  // Runs `body` in a READ COMMITTED transaction on a pooled connection and
  // commits if it returns OK; any other status rolls back and is returned as
  // is. The whole body runs again (so it must have no effect outside the
  // transaction) after a serialization failure, a deadlock, or a connection
  // lost before commit, or a lock wait that timed out, up to max_attempts
  // times. Errors:
  //   Unavailable    database unreachable, no free connection, the commit's
  //                  outcome is unknown (connection lost in COMMIT), or
  //                  still conflicting after every attempt;
  //   AlreadyExists  a unique constraint rejected a write;
  //   DeadlineExceeded  `deadline` passed (before or while the body ran:
  //                  its statements are cancelled and it rolls back);
  //   Internal       any other database error (logged, with `what`).
  absl::Status Transact(absl::string_view what, Body body,
                        absl::Time deadline = absl::InfiniteFuture());

  // Like Transact, in a read-only transaction.
  absl::Status Read(absl::string_view what, Body body,
                    absl::Time deadline = absl::InfiniteFuture());

  const DatabaseOptions& options() const { return options_; }

  struct PoolStats {
    int open = 0;  // Connections open (idle or in use).
    int idle = 0;
    int waiters = 0;  // Callers waiting for a free connection.
    // Whether the last attempt to open a connection succeeded.
    bool reachable = true;
  };
  PoolStats Stats() const;

 private:
  struct Connection;
  explicit Database(DatabaseOptions options);

  absl::StatusOr<std::unique_ptr<Connection>> Acquire();
  // Returns a healthy connection to the pool, or closes a broken one.
  void Release(std::unique_ptr<Connection> connection, bool broken);
  // Returns a connection whose transaction failed to the pool if its
  // session is out of any transaction block (rolling back what is left),
  // and closes it otherwise. A ROLLBACK cut short (a statement timeout of a
  // millisecond on a busy machine) leaves the session in a failed
  // transaction, where every later statement fails with 25P02.
  void ReleaseAfterError(std::unique_ptr<Connection> connection);

  template <typename Transaction>
  absl::Status Run(absl::string_view what, Body body, absl::Time deadline);

  const DatabaseOptions options_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
  // Connections open (idle or leased) or being opened.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int waiters_ ABSL_GUARDED_BY(mu_) = 0;
  bool reachable_ ABSL_GUARDED_BY(mu_) = true;
};

// `url` with connect_timeout=`seconds` added unless it sets one, so that an
// unreachable host fails in seconds rather than after TCP's minutes. Works
// for URIs (postgresql://...) and key=value strings.
std::string WithConnectTimeout(const std::string& url, int seconds);

// `url` with libpq option `key`=`value` added unless it sets `key`.
// `value` must not need quoting (no spaces, quotes or backslashes).
std::string WithConnectionOption(const std::string& url, absl::string_view key,
                                 absl::string_view value);

// Makes a broken connection fail instead of reconnecting silently, which
// libpqxx 6 does by default and which would lose the session's settings
// (timeouts) and LISTENs. (Deprecated in libpqxx 6.4; version 7 never
// reconnects.)
void InhibitReactivation(pqxx::connection_base& conn);

// Formats a time as a timestamptz literal in UTC
// ("2026-01-12 10:00:00.000000+00"), whatever the process's TZ.
std::string SqlTime(absl::Time t);

// Reads the result of `(extract(epoch FROM t) * 1000000)::bigint`.
inline absl::Time TimeFromMicros(int64_t micros) {
  return absl::FromUnixMicros(micros);
}

}  // namespace consentd

#endif  // CONSENTD_STORAGE_DATABASE_H_
