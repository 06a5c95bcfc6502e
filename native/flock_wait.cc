#include "flock_wait.h"

#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace bridgewall {

int FlockBefore(int fd, std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds retry) {
  using Clock = std::chrono::steady_clock;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int errnum = errno;
    if (errnum == EINTR) continue;
    if (errnum != EWOULDBLOCK) return errnum;
    Clock::time_point now = Clock::now();
    if (now >= deadline) return EWOULDBLOCK;
    std::this_thread::sleep_for(std::min<Clock::duration>(retry, deadline - now));
  }
  return 0;
}

}  // namespace bridgewall
