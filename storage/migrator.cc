#include "storage/migrator.h"

#include <map>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "storage/database.h"
#include "storage/logging.h"

namespace consentd {
namespace {

// pg_advisory_lock key: "consentd" in ASCII.
constexpr char kLockKey[] = "7161131367236560996";

}  // namespace

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
    session.exec(absl::StrCat("SELECT pg_advisory_lock(", kLockKey, ")"));
    session.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    std::map<int, std::string> applied;
    for (const pqxx::row& row :
         session.exec("SELECT version, checksum FROM schema_migrations")) {
      applied[row[0].as<int>()] = row[1].as<std::string>();
    }
    session.commit();

    for (const EmbeddedMigration& m : migrations) {
      pqxx::work tx(*conn);
      const std::string checksum =
          tx.exec_params1("SELECT md5($1)", std::string(m.sql))[0]
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
      tx.exec_params(
          "INSERT INTO schema_migrations (version, name, checksum) "
          "VALUES ($1, $2, $3)",
          m.version, std::string(m.name), checksum);
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
    unlock.exec(absl::StrCat("SELECT pg_advisory_unlock(", kLockKey, ")"));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat("database connection lost while migrating: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("migration failed: ", e.what()));
  }
  return report;
}

}  // namespace consentd
