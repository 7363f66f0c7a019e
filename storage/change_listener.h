// The replica's ear on PostgreSQL: a dedicated connection that LISTENs for
// change notifications (changes.h) and proves, with a heartbeat sent to
// itself through the same notification queue, how far it has caught up.
#ifndef CONSENTD_STORAGE_CHANGE_LISTENER_H_
#define CONSENTD_STORAGE_CHANGE_LISTENER_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/changes.h"

namespace consentd {

// Runs one thread until destroyed. Thread-safe.
class ChangeListener {
 public:
  // Called on the listener thread, one call at a time.
  class Handler {
   public:
    virtual ~Handler() = default;
    // A change committed by any replica (this one included).
    virtual void OnChange(const Change& change) = 0;
    // LISTEN is in place (again): every change committed from now on will
    // be delivered. Changes committed while disconnected were lost.
    virtual void OnConnected() = 0;
    // The connection is gone; changes may be lost until OnConnected.
    virtual void OnDisconnected(const std::string& why) = 0;
    // Every change committed before `sent_at` (by MonotonicClock) has been
    // delivered.
    virtual void OnCaughtUp(absl::Time sent_at) = 0;
  };

  struct Options {
    // libpq connection string or URI.
    std::string url;
    // How often a heartbeat goes through the notification queue.
    absl::Duration heartbeat_interval = absl::Milliseconds(250);
    // Without a heartbeat back for this long, the connection is deemed dead
    // and replaced. At least 4 heartbeat intervals.
    absl::Duration dead_after = absl::Seconds(5);
    // Longest pause between reconnection attempts.
    absl::Duration max_backoff = absl::Seconds(2);
  };

  // Starts listening; `handler` must outlive the listener.
  ChangeListener(Options options, Handler* handler);
  // Stops the thread (within about 100 ms).
  ~ChangeListener();
  ChangeListener(const ChangeListener&) = delete;
  ChangeListener& operator=(const ChangeListener&) = delete;

  // application_name of the listening connection, for operators (and tests)
  // who look at pg_stat_activity.
  static std::string ApplicationName();

 private:
  void Run();
  // Listens on one connection until it fails or Stop; throws on failure.
  void Listen();
  // Waits up to `d`; false if stopping.
  bool Pause(absl::Duration d);

  const Options options_;
  Handler* const handler_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace consentd

#endif  // CONSENTD_STORAGE_CHANGE_LISTENER_H_
