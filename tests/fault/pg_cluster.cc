#include "tests/fault/pg_cluster.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "tests/integration/process_server.h"

namespace consentd::testing {
namespace {

// The newest installed PostgreSQL's programs (Debian keeps them out of
// PATH), or what CONSENTD_PG_BINDIR says.
std::string PgBindir() {
  if (const char* dir = std::getenv("CONSENTD_PG_BINDIR")) return dir;
  std::string best;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
    const std::string bin = entry.path().string() + "/bin";
    if (std::filesystem::exists(bin + "/pg_ctl") && bin > best) best = bin;
  }
  return best;
}

}  // namespace

PgCluster::PgCluster() : bindir_(PgBindir()) {
  char templ[] = "/tmp/consentd-fault-pg.XXXXXX";
  dir_ = mkdtemp(templ);
  port_ = FreePort();
  if (geteuid() == 0) {
    std::system(absl::StrCat("chown postgres:postgres ", dir_).c_str());
  }
  EXPECT_FALSE(bindir_.empty()) << "PostgreSQL's programs not found";
  EXPECT_TRUE(AsOwner(absl::StrCat(
      bindir_, "/initdb -D ", dir_, "/data -U postgres --auth=trust -E UTF8 ",
      "--locale=C.UTF-8 >", dir_, "/initdb.log 2>&1")))
      << "initdb failed in " << dir_;
  Start();
}

PgCluster::~PgCluster() {
  Stop("immediate");
  std::filesystem::remove_all(dir_);
}

std::string PgCluster::url() const {
  return absl::StrCat("host=127.0.0.1 port=", port_,
                      " user=postgres dbname=postgres");
}

bool PgCluster::AsOwner(const std::string& command) const {
  const std::string quoted = absl::StrCat("'", command, "'");
  const std::string line =
      geteuid() == 0 ? absl::StrCat("runuser -u postgres -- sh -c ", quoted)
                     : command;
  return std::system(line.c_str()) == 0;
}

void PgCluster::Start() {
  // -w waits until the server accepts connections (with pg_ctl's deadline).
  ASSERT_TRUE(
      AsOwner(absl::StrCat(bindir_, "/pg_ctl -D ", dir_, "/data -l ", dir_,
                           "/postgres.log -w -t 60 -o \"-p ", port_,
                           " -c listen_addresses=127.0.0.1", " -k ", dir_,
                           " -c max_connections=200\" start >/dev/null")))
      << "PostgreSQL did not start; see " << dir_ << "/postgres.log";
}

void PgCluster::Stop(const std::string& mode) {
  if (!std::filesystem::exists(dir_ + "/data/postmaster.pid")) return;
  AsOwner(absl::StrCat(bindir_, "/pg_ctl -D ", dir_, "/data -m ", mode,
                       " -w stop >/dev/null 2>&1"));
}

std::string PgCluster::Query(const std::string& sql) const {
  pqxx::connection conn(url());
  pqxx::nontransaction tx(conn);
  const pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return "";
  return r[0][0].as<std::string>();
}

}  // namespace consentd::testing
