#include "server/read_coalescer.h"

#include <utility>

namespace consentd {

bool ReadCoalescer::Join(const std::string& subject, Done done) {
  absl::MutexLock lock(&mu_);
  auto [it, first] = flights_.try_emplace(subject);
  it->second.push_back(std::move(done));
  return first;
}

void ReadCoalescer::Finish(const std::string& subject,
                           const absl::StatusOr<SubjectState>& result) {
  std::vector<Done> waiting;
  {
    absl::MutexLock lock(&mu_);
    auto it = flights_.find(subject);
    if (it == flights_.end()) return;
    waiting = std::move(it->second);
    flights_.erase(it);
  }
  for (Done& done : waiting) std::move(done)(result);
}

size_t ReadCoalescer::InFlight() const {
  absl::MutexLock lock(&mu_);
  return flights_.size();
}

}  // namespace consentd
