#include "iptc/xtables_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "error.h"
#include "flock_wait.h"

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

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (int errnum = FlockBefore(fd_, deadline, kRetryInterval); errnum != 0) {
    close(fd_);
    if (errnum == EWOULDBLOCK) {
      Fail(EBUSY, kOperation,
           "the xtables lock is held by another process (waited " + std::to_string(timeout_ms) + " ms for " + path +
               "); another iptables command or program is changing the rules");
    }
    errno = errnum;
    FailErrno(kOperation, "cannot lock " + path);
  }
}

XtablesLock::~XtablesLock() { close(fd_); }

}  // namespace bridgewall::iptc
