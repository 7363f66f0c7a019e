#include "storage/change_listener.h"

#include <unistd.h>

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "storage/database.h"
#include "storage/logging.h"
#include "storage/statements.h"

namespace consentd {
namespace {

class ChangeReceiver final : public pqxx::notification_receiver {
 public:
  ChangeReceiver(pqxx::connection_base& conn, ChangeListener::Handler* handler)
      : pqxx::notification_receiver(conn, kChangesChannel), handler_(handler) {}
  void operator()(const std::string& payload, int) override {
    absl::StatusOr<Change> change = DecodeChange(payload);
    if (!change.ok()) {
      // Something unknown happened on the channel: what it meant for the
      // cache is lost, so treat it as a lost connection.
      spdlog::error("{}", change.status().ToString());
      lost = true;
      return;
    }
    handler_->OnChange(*change);
  }
  bool lost = false;

 private:
  ChangeListener::Handler* const handler_;
};

// Heartbeats count only when this very session sent them (PostgreSQL sets
// the sender's backend pid; no other session can fake it) and their time is
// not in the future.
class HeartbeatReceiver final : public pqxx::notification_receiver {
 public:
  HeartbeatReceiver(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel),
        own_pid_(conn.backendpid()) {}
  void operator()(const std::string& payload, int backend_pid) override {
    int64_t sent_us;
    if (backend_pid != own_pid_ || !absl::SimpleAtoi(payload, &sent_us)) return;
    const absl::Time sent = absl::FromUnixMicros(sent_us);
    if (sent <= MonotonicClock::Get()->Now()) latest = std::max(latest, sent);
  }
  absl::Time latest = absl::InfinitePast();

 private:
  const int own_pid_;
};

// A silent network failure must not block the listener for TCP's minutes.
std::string ListenerUrl(const std::string& url) {
  std::string out = WithConnectTimeout(url, 3);
  out = WithConnectionOption(out, "keepalives", "1");
  out = WithConnectionOption(out, "keepalives_idle", "5");
  out = WithConnectionOption(out, "keepalives_interval", "2");
  out = WithConnectionOption(out, "keepalives_count", "2");
  out = WithConnectionOption(out, "tcp_user_timeout", "10000");
  return WithConnectionOption(out, "application_name",
                              ChangeListener::ApplicationName());
}

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
  pqxx::connection conn(ListenerUrl(options_.url));
  // If the connection breaks, fail rather than reconnect behind our back:
  // a silent reconnect would hide the notifications lost meanwhile.
  InhibitReactivation(conn);
  // A channel only this connection listens on: seeing its own heartbeat
  // means every notification queued before it was seen too (PostgreSQL
  // delivers notifications in commit order).
  const std::string heartbeat_channel =
      absl::StrCat("consentd_heartbeat_", conn.backendpid());
  ChangeReceiver changes(conn, handler_);
  HeartbeatReceiver heartbeats(conn, heartbeat_channel);
  // libpqxx swallows a failed LISTEN: make sure the session survived it.
  if (!conn.is_open()) throw pqxx::broken_connection("LISTEN failed");
  handler_->OnConnected();

  Clock* clock = MonotonicClock::Get();
  absl::Time last_sent = absl::InfinitePast();
  absl::Time last_seen = absl::InfinitePast();
  const absl::Time connected_at = clock->Now();
  while (!stop_) {
    const absl::Time now = clock->Now();
    if (now - last_sent >= options_.heartbeat_interval) {
      pqxx::nontransaction tx(conn);
      tx.exec_params(sql::kHeartbeat, heartbeat_channel,
                     absl::StrCat(absl::ToUnixMicros(now)));
      tx.commit();
      last_sent = now;
    }
    conn.await_notification(0, 50000);
    if (changes.lost)
      throw pqxx::broken_connection("a change notification was lost");
    if (!conn.is_open()) throw pqxx::broken_connection("connection closed");
    if (heartbeats.latest > last_seen) {
      last_seen = heartbeats.latest;
      handler_->OnCaughtUp(last_seen);
    }
    const absl::Time since = std::max(last_seen, connected_at);
    if (clock->Now() - since > options_.dead_after) {
      throw pqxx::broken_connection(
          absl::StrCat("no heartbeat back for ",
                       absl::FormatDuration(clock->Now() - since)));
    }
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
