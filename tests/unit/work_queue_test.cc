#include "server/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>

#include "absl/synchronization/notification.h"

namespace consentd {
namespace {

TEST(WorkQueue, RunsEveryTaskBeforeDestruction) {
  std::atomic<int> ran{0};
  {
    WorkQueue queue(2, 1000);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(queue.Submit([&ran] { ++ran; }).ok());
    }
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(WorkQueue, RefusesWhenFull) {
  WorkQueue queue(1, 1);
  absl::Notification release, started;
  ASSERT_TRUE(queue
                  .Submit([&] {
                    started.Notify();
                    release.WaitForNotification();
                  })
                  .ok());
  started.WaitForNotification();
  ASSERT_TRUE(queue.Submit([] {}).ok());  // Queued.
  const absl::Status full = queue.Submit([] {});
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
  release.Notify();
}

}  // namespace
}  // namespace consentd
