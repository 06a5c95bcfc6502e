#include "iptc/xtables_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "error.h"

namespace bridgewall::iptc {

namespace {

constexpr const char* kOperation = "iptc.lock";
// Short enough that a lock released by an iptables command is picked up at
// once, long enough not to spin a pool thread.
constexpr std::chrono::milliseconds kRetryInterval{5};

}  // namespace

XtablesLock::XtablesLock(const std::string& path, unsigned int timeout_ms) {
  fd_ = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) FailErrno(kOperation, "cannot open the xtables lock " + path);

  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int errnum = errno;
    if (errnum == EINTR) continue;
    if (errnum != EWOULDBLOCK) {
      close(fd_);
      errno = errnum;
      FailErrno(kOperation, "cannot lock " + path);
    }
    Clock::time_point now = Clock::now();
    if (now >= deadline) {
      close(fd_);
      Fail(EBUSY, kOperation,
           "the xtables lock is held by another process (waited " + std::to_string(timeout_ms) + " ms for " + path +
               "); another iptables command or program is changing the rules");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(kRetryInterval, deadline - now));
  }
}

XtablesLock::~XtablesLock() { close(fd_); }

}  // namespace bridgewall::iptc
