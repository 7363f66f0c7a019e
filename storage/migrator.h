// The migration runner: applies the forward-only SQL files of migrations/ in
// order, each in its own transaction, under a PostgreSQL advisory lock so that
// replicas starting together are safe, and records each in schema_migrations.
#ifndef CONSENTD_STORAGE_MIGRATOR_H_
#define CONSENTD_STORAGE_MIGRATOR_H_

#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "migrations/embedded.h"

namespace consentd {

struct MigrationReport {
  int applied = 0;          // Migrations run by this call.
  int already_applied = 0;  // Migrations found recorded.
  int schema_version = 0;   // Highest version recorded after the call.
};

// Brings the database at `url` up to date with `migrations`. Blocks while
// another process migrates. Errors: Unavailable (cannot connect),
// FailedPrecondition (an applied migration's text changed since it was
// applied: migrations are never edited once landed), Internal (a migration
// failed; it was rolled back and nothing after it ran).
absl::StatusOr<MigrationReport> Migrate(
    const std::string& url, std::span<const EmbeddedMigration> migrations);

}  // namespace consentd

#endif  // CONSENTD_STORAGE_MIGRATOR_H_
