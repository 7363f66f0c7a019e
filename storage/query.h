// Running the named statements of statements.h inside a transaction body,
// timed for the database's QueryObserver. Every store runs SQL through here.
#ifndef CONSENTD_STORAGE_QUERY_H_
#define CONSENTD_STORAGE_QUERY_H_

#include <pqxx/pqxx>
#include <utility>

#include "absl/time/clock.h"
#include "storage/database.h"

namespace consentd {

template <typename... Args>
pqxx::result Exec(const Database& db, pqxx::transaction_base& tx,
                  const char* statement, Args&&... args) {
  QueryObserver* observer = db.options().observer;
  if (observer == nullptr) {
    return tx.exec_prepared(statement, std::forward<Args>(args)...);
  }
  const absl::Time start = absl::Now();
  pqxx::result result =
      tx.exec_prepared(statement, std::forward<Args>(args)...);
  observer->ObserveQuery(statement, absl::Now() - start);
  return result;
}

// Exec for a statement that answers exactly one row.
template <typename... Args>
pqxx::row Exec1(const Database& db, pqxx::transaction_base& tx,
                const char* statement, Args&&... args) {
  pqxx::result result = Exec(db, tx, statement, std::forward<Args>(args)...);
  if (result.size() != 1) {
    throw pqxx::unexpected_rows(std::string(statement) + ": expected 1 row");
  }
  return result[0];
}

}  // namespace consentd

#endif  // CONSENTD_STORAGE_QUERY_H_
