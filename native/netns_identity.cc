#include "netns_identity.h"

#include <sys/stat.h>

#include <string>

#include "arguments.h"
#include "error.h"
#include "netns.h"
#include "promise_worker.h"

namespace bridgewall {

namespace {

struct Identity {
  double device;
  double inode;
};

// Rejects with ENOENT (no such path), EINVAL (not a network namespace) or
// EPERM/EACCES (the caller may not enter it) before anything is written there.
Napi::Value NetnsIdentity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = ReadArguments(env, "netns.open", [&] { return AsNetnsPath(info[0]); });
  return PromiseWorker<Identity>::Start(
      env, "netns.open",
      [netns_path]() {
        NetnsFd netns(OpenNetns(netns_path, "netns.open"));
        { NetnsScope entered(netns.get(), "netns.open"); }
        struct stat status {};
        if (fstat(netns.get(), &status) != 0) FailErrno("netns.open", "cannot stat network namespace " + netns_path);
        return Identity{static_cast<double>(status.st_dev), static_cast<double>(status.st_ino)};
      },
      [](Napi::Env env, Identity& identity) -> Napi::Value {
        Napi::Object object = Napi::Object::New(env);
        object.Set("device", identity.device);
        object.Set("inode", identity.inode);
        return object;
      });
}

}  // namespace

void InitNetnsIdentity(Napi::Env env, Napi::Object exports) {
  exports.Set("netnsIdentity", Napi::Function::New(env, NetnsIdentity, "netnsIdentity"));
}

}  // namespace bridgewall
