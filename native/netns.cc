#include "netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "error.h"

namespace bridgewall {

int OpenNetns(const std::string& path, const char* operation) {
  if (path.empty()) return -1;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) FailErrno(operation, "cannot open network namespace " + path);
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    close(fd);
    Fail(EINVAL, operation, path + " is not a network namespace");
  }
  return fd;
}

NetnsScope::NetnsScope(int target_fd, const char* operation) {
  if (target_fd < 0) return;
  saved_fd_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved_fd_ < 0) FailErrno(operation, "cannot open the current network namespace");
  if (setns(target_fd, CLONE_NEWNET) != 0) {
    int errnum = errno;
    close(saved_fd_);
    saved_fd_ = -1;
    errno = errnum;
    FailErrno(operation, "cannot enter the network namespace");
  }
}

NetnsScope::~NetnsScope() {
  if (saved_fd_ < 0) return;
  if (setns(saved_fd_, CLONE_NEWNET) != 0) {
    // A pool thread left in a foreign namespace would silently misdirect every
    // later socket it opens; there is no safe way to continue.
    std::perror("bridgewall: cannot return a worker thread to its network namespace");
    std::abort();
  }
  close(saved_fd_);
}

NetnsFd::~NetnsFd() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace bridgewall
