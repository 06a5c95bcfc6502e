#include "netns_identity.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include "arguments.h"
#include "error.h"
#include "netns.h"
#include "promise_worker.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace bridgewall {

namespace {

constexpr const char* kOperation = "netns.open";

struct Identity {
  double device;
  double inode;
  std::optional<uint64_t> cookie;
};

// The cookie of the namespace the calling thread is in: a socket belongs to
// the namespace it was created in. None on a kernel without cookies
// (ENOPROTOOPT, before 5.14).
std::optional<uint64_t> CookieOfCurrentNetns() {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) FailErrno(kOperation, "cannot open a socket");
  uint64_t cookie = 0;
  socklen_t length = sizeof(cookie);
  int result = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length);
  int errnum = errno;
  close(fd);
  if (result == 0) return cookie;
  if (errnum == ENOPROTOOPT) return std::nullopt;
  errno = errnum;
  FailErrno(kOperation, "cannot read the namespace cookie");
}

// Rejects with ENOENT (no such path), EINVAL (not a network namespace) or
// EPERM/EACCES (the caller may not enter it) before anything is written there.
// An empty path names the caller's own namespace.
Identity IdentityOf(const std::string& netns_path) {
  NetnsFd netns(OpenNetns(netns_path, kOperation));
  NetnsScope entered(netns.get(), kOperation);
  // An empty path opens nothing (-1): the caller's own namespace is the one
  // this worker thread shares.
  struct stat status {};
  int failed = netns.get() >= 0 ? fstat(netns.get(), &status) : stat("/proc/thread-self/ns/net", &status);
  if (failed != 0) FailErrno(kOperation, "cannot stat network namespace " + netns_path);
  return Identity{static_cast<double>(status.st_dev), static_cast<double>(status.st_ino), CookieOfCurrentNetns()};
}

Napi::Value NetnsIdentity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = ReadArguments(env, kOperation, [&] { return AsNetnsPath(info[0]); });
  return PromiseWorker<Identity>::Start(
      env, kOperation, [netns_path]() { return IdentityOf(netns_path); },
      [](Napi::Env env, Identity& identity) -> Napi::Value {
        Napi::Object object = Napi::Object::New(env);
        object.Set("device", identity.device);
        object.Set("inode", identity.inode);
        // Decimal: a 64-bit number does not fit a JavaScript number.
        object.Set("cookie", identity.cookie ? Napi::String::New(env, std::to_string(*identity.cookie)) : env.Null());
        return object;
      });
}

}  // namespace

void InitNetnsIdentity(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsIdentity", Napi::Function::New(env, NetnsIdentity, "netnsIdentity"));
}

}  // namespace bridgewall
