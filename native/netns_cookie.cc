#include "netns_cookie.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
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

constexpr const char* kOperation = "netns.cookie";

// A socket belongs to the namespace it was created in: one made inside the
// target namespace reports that namespace's cookie.
uint64_t CookieOf(const std::string& netns_path) {
  NetnsFd netns(OpenNetns(netns_path, kOperation));
  NetnsScope scope(netns.get(), kOperation);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) FailErrno(kOperation, "cannot open a socket");
  uint64_t cookie = 0;
  socklen_t length = sizeof(cookie);
  int result = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &length);
  int errnum = errno;
  close(fd);
  if (result != 0) {
    errno = errnum;
    FailErrno(kOperation, "cannot read the namespace cookie");
  }
  return cookie;
}

Napi::Value NetnsCookie(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = ReadArguments(env, kOperation, [&] { return AsNetnsPath(info[0]); });
  return PromiseWorker<uint64_t>::Start(
      env, kOperation, [netns_path]() { return CookieOf(netns_path); },
      [](Napi::Env env, uint64_t& cookie) -> Napi::Value { return Napi::String::New(env, std::to_string(cookie)); });
}

}  // namespace

void InitNetnsCookie(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsCookie", Napi::Function::New(env, NetnsCookie, "netnsCookie"));
}

}  // namespace bridgewall
