cmake_policy(SET CMP0057 NEW)
# Writes OUTPUT: a C++ file defining consentd::EmbeddedMigrations() from the
# V<NNN>__<name>.sql files in DIR. Run with cmake -P at build time.
file(GLOB files RELATIVE ${DIR} ${DIR}/V*__*.sql)
list(SORT files COMPARE NATURAL)
set(entries "")
set(seen "")
foreach(f ${files})
  if(NOT f MATCHES "^V([0-9]+)__[A-Za-z0-9_]+\\.sql$")
    message(FATAL_ERROR "migration file name ${f} does not match V<NNN>__<name>.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  if(version IN_LIST seen)
    message(FATAL_ERROR "two migrations have version ${version}")
  endif()
  list(APPEND seen ${version})
  file(READ ${DIR}/${f} sql)
  string(FIND "${sql}" ")consentd_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${f} contains the embedding delimiter")
  endif()
  string(APPEND entries "    {${version}, \"${f}\", R\"consentd_sql(${sql})consentd_sql\"},\n")
endforeach()
file(WRITE ${OUTPUT}.tmp "// Generated from migrations/*.sql by cmake/embed_migrations.cmake.
#include \"migrations/embedded.h\"

namespace consentd {
namespace {
const EmbeddedMigration kMigrations[] = {
${entries}};
}  // namespace

std::span<const EmbeddedMigration> EmbeddedMigrations() { return kMigrations; }

}  // namespace consentd
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
