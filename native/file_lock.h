// FileLock: an exclusive flock on a lock file, held from JavaScript across
// asynchronous work (the owner record's updates). Taken by the asynchronous
// lockFile(path, timeoutMs) on a worker thread. The kernel releases it when
// its process dies, so a holder killed at any point leaves nothing that
// blocks the next one. release() removes the file before letting go of it,
// and a taker checks, once it holds the lock, that the path still names the
// file it locked (else a releaser removed it meanwhile and it tries again),
// so the lock directory keeps no file of a lock nobody holds.
#pragma once

#include <napi.h>

#include <string>

#include "addon_data.h"

namespace bridgewall {

class FileLock : public Napi::ObjectWrap<FileLock>, public Closable {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

  // Only lockFile constructs these, passing the locked descriptor.
  explicit FileLock(const Napi::CallbackInfo& info);
  ~FileLock() override;

  // Lets go of the lock without removing its file (the environment's end).
  void Close() override;

 private:
  static Napi::Value Take(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);

  AddonData* addon_;
  std::string path_;
  int fd_ = -1;  // -1 once released
};

}  // namespace bridgewall
