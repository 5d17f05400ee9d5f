// job_gate -- counts a device's jobs in flight on the I/O threads (io_pool.h), so that close can wait for them
// before it unmaps what they use.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace pmemdax {

class JobGate {
 public:
  void Enter() {
    std::lock_guard<std::mutex> lock(mu_);
    ++in_flight_;
  }
  // Called by the job itself, on its I/O thread, once it no longer touches the mapping.
  void Leave() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--in_flight_ == 0) idle_.notify_all();
  }
  // Whether no job is in flight now.
  bool Idle() {
    std::lock_guard<std::mutex> lock(mu_);
    return in_flight_ == 0;
  }
  // Blocks until no job is in flight.
  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [this] { return in_flight_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  uint64_t in_flight_ = 0;
};

}  // namespace pmemdax
