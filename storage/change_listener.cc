#include "storage/change_listener.h"

#include <unistd.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "storage/database.h"
#include "storage/logging.h"

namespace consentd {
namespace {

class ChangeReceiver final : public pqxx::notification_receiver {
 public:
  ChangeReceiver(pqxx::connection_base& conn, ChangeListener::Handler* handler)
      : pqxx::notification_receiver(conn, kChangesChannel), handler_(handler) {}
  void operator()(const std::string& payload, int) override {
    absl::StatusOr<Change> change = DecodeChange(payload);
    if (!change.ok()) {
      spdlog::error("ignoring {}", change.status().ToString());
      return;
    }
    handler_->OnChange(*change);
  }

 private:
  ChangeListener::Handler* const handler_;
};

class HeartbeatReceiver final : public pqxx::notification_receiver {
 public:
  HeartbeatReceiver(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& payload, int) override {
    int64_t sent_us;
    if (absl::SimpleAtoi(payload, &sent_us)) {
      latest = std::max(latest, absl::FromUnixMicros(sent_us));
    }
  }
  absl::Time latest = absl::InfinitePast();
};

}  // namespace

std::string ChangeListener::ApplicationName() {
  return absl::StrCat("consentd-listener/", getpid());
}

ChangeListener::ChangeListener(Options options, Handler* handler)
    : options_(std::move(options)), handler_(handler) {
  thread_ = std::thread([this] { Run(); });
}

ChangeListener::~ChangeListener() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  stop_ = true;
  thread_.join();
}

bool ChangeListener::Pause(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

void ChangeListener::Listen() {
  pqxx::connection conn(WithConnectionOption(
      WithConnectTimeout(options_.url, 3), "application_name",
      ApplicationName()));
  // A channel only this connection listens on: seeing its own heartbeat
  // means every notification queued before it was seen too (PostgreSQL
  // delivers notifications in commit order).
  const std::string heartbeat_channel =
      absl::StrCat("consentd_heartbeat_", conn.backendpid());
  ChangeReceiver changes(conn, handler_);
  HeartbeatReceiver heartbeats(conn, heartbeat_channel);
  conn.get_notifs();  // Completes the LISTENs.
  handler_->OnConnected();

  absl::Time last_sent = absl::InfinitePast();
  absl::Time last_seen = absl::InfinitePast();
  absl::Time connected_at = absl::Now();
  while (!stop_) {
    const absl::Time now = absl::Now();
    if (now - last_sent >= options_.heartbeat_interval) {
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SELECT pg_notify(", tx.quote(heartbeat_channel),
                           ", '", absl::ToUnixMicros(now), "')"));
      last_sent = now;
    }
    conn.await_notification(0, 50000);
    if (heartbeats.latest > last_seen) {
      last_seen = heartbeats.latest;
      handler_->OnCaughtUp(last_seen);
    }
    const absl::Time since = std::max(last_seen, connected_at);
    if (absl::Now() - since > options_.dead_after) {
      throw pqxx::broken_connection(absl::StrCat(
          "no heartbeat back for ", absl::FormatDuration(absl::Now() - since)));
    }
    if (!conn.is_open()) throw pqxx::broken_connection("connection closed");
  }
}

void ChangeListener::Run() {
  absl::Duration backoff = absl::Milliseconds(50);
  while (!stop_) {
    try {
      Listen();
    } catch (const std::exception& e) {
      if (stop_) break;
      spdlog::warn("change listener disconnected: {}; reconnecting in {}",
                   e.what(), absl::FormatDuration(backoff));
      handler_->OnDisconnected(e.what());
      if (!Pause(backoff)) break;
      backoff = std::min(backoff * 2, options_.max_backoff);
      continue;
    }
    backoff = absl::Milliseconds(50);
  }
}

}  // namespace consentd
