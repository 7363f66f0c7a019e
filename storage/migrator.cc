#include "storage/migrator.h"

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "storage/database.h"
#include "storage/logging.h"
#include "storage/statements.h"

namespace consentd {

absl::StatusOr<MigrationReport> Migrate(
    const std::string& url, std::span<const EmbeddedMigration> migrations) {
  MigrationReport report;
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(WithConnectTimeout(url, 10));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("database unreachable: ", e.what()));
  }
  try {
    pqxx::nontransaction session(*conn);
    session.exec(sql::kLockMigrations);
    session.exec(sql::kCreateMigrationsTable);
    std::map<int, std::string> applied;
    for (const pqxx::row& row : session.exec(sql::kAppliedMigrations)) {
      applied[row[0].as<int>()] = row[1].as<std::string>();
    }
    session.commit();

    for (const EmbeddedMigration& m : migrations) {
      pqxx::work tx(*conn);
      const std::string checksum =
          tx.exec_params1(sql::kMigrationChecksum, std::string(m.sql))[0]
              .as<std::string>();
      auto it = applied.find(m.version);
      if (it != applied.end()) {
        if (it->second != checksum) {
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", m.name,
              " differs from the one applied to this "
              "database; migrations must never be edited once landed"));
        }
        ++report.already_applied;
        continue;
      }
      spdlog::info("applying migration {}", m.name);
      tx.exec(m.sql);
      tx.exec_params(sql::kRecordMigration, m.version, std::string(m.name),
                     checksum);
      tx.commit();
      ++report.applied;
      applied[m.version] = checksum;
    }
    if (!applied.empty()) report.schema_version = applied.rbegin()->first;
    if (!migrations.empty() &&
        report.schema_version > migrations.back().version) {
      spdlog::warn(
          "the database schema is at version {}, newer than this binary's {}",
          report.schema_version, migrations.back().version);
    }
    pqxx::nontransaction unlock(*conn);
    unlock.exec(sql::kUnlockMigrations);
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat("database connection lost while migrating: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("migration failed: ", e.what()));
  }
  return report;
}

}  // namespace consentd
