// Network namespaces addressed by path (/run/netns/NAME, /proc/PID/ns/net).
// Sockets are opened inside the target namespace by switching only the calling
// worker thread, never the whole process and never through a child process.
#pragma once

#include <string>

namespace bridgewall {

// Opens `path` and checks that it is a network namespace. An empty path means
// "the namespace of the calling thread" and yields -1. Throws FailureError.
int OpenNetns(const std::string& path, const char* operation);

// Moves the calling thread into `target_fd` (no-op for -1) for its lifetime.
class NetnsScope {
 public:
  NetnsScope(int target_fd, const char* operation);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int saved_fd_ = -1;
};

// Owns a namespace fd; closes it once.
class NetnsFd {
 public:
  NetnsFd() = default;
  explicit NetnsFd(int fd) : fd_(fd) {}
  ~NetnsFd();
  NetnsFd(const NetnsFd&) = delete;
  NetnsFd& operator=(const NetnsFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace bridgewall
