// The SQL migrations of this folder, compiled into the binary so that every
// consentd (and every test) applies exactly the files in the repository.
#ifndef CONSENTD_MIGRATIONS_EMBEDDED_H_
#define CONSENTD_MIGRATIONS_EMBEDDED_H_

#include <span>

namespace consentd {

struct EmbeddedMigration {
  int version;       // From the file name: V001__x.sql -> 1.
  const char* name;  // The file name.
  const char* sql;   // The file's contents.
};

// Every migration, ordered by version.
std::span<const EmbeddedMigration> EmbeddedMigrations();

}  // namespace consentd

#endif  // CONSENTD_MIGRATIONS_EMBEDDED_H_
