// A PostgreSQL cluster of a fault test's own, which the test may stop,
// crash and start again without disturbing any other test: initdb in a
// fresh folder, owned by the postgres user when run as root (PostgreSQL
// refuses to run as root), on a free loopback port.
#ifndef CONSENTD_TESTS_FAULT_PG_CLUSTER_H_
#define CONSENTD_TESTS_FAULT_PG_CLUSTER_H_

#include <string>

namespace consentd::testing {

class PgCluster {
 public:
  // Initializes and starts the cluster (fails the test if it cannot).
  PgCluster();
  // Stops it (immediately) and removes its folder.
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // libpq connection string of the database "postgres".
  std::string url() const;
  int port() const { return port_; }

  // pg_ctl stop -m `mode` ("fast": clients are disconnected and the
  // checkpoint written; "immediate": a crash, recovered at the next start).
  void Stop(const std::string& mode);
  // Starts the cluster again on the same port; waits until it accepts
  // connections.
  void Start();

  // Runs `sql` and returns the first column of the first row ("" if none).
  std::string Query(const std::string& sql) const;
  int64_t Count(const std::string& sql) const { return std::stoll(Query(sql)); }

 private:
  // Runs a shell command as the cluster's owner; true on exit status 0.
  bool AsOwner(const std::string& command) const;

  std::string bindir_;
  std::string dir_;
  int port_ = 0;
};

}  // namespace consentd::testing

#endif  // CONSENTD_TESTS_FAULT_PG_CLUSTER_H_
