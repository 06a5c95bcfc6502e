#include "file_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <utility>

#include "arguments.h"
#include "error.h"
#include "flock_wait.h"
#include "promise_worker.h"

namespace bridgewall {

namespace {

constexpr const char* kOperation = "owner.lock";
// A lock is held for a few file operations: short enough to take it right
// after its holder lets go, long enough not to spin a pool thread.
constexpr std::chrono::milliseconds kRetryInterval{2};

struct Locked {
  std::string path;
  int fd = -1;
};

// Whether `fd` is the file `path` names now (a releaser may have removed it
// between our open and our flock).
bool StillNamed(int fd, const std::string& path) {
  struct stat held {};
  struct stat named {};
  if (fstat(fd, &held) != 0) return false;
  if (stat(path.c_str(), &named) != 0) return false;
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

Locked TakeLock(const std::string& path, unsigned int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) FailErrno(kOperation, "cannot open the lock " + path);
    if (int errnum = FlockBefore(fd, deadline, kRetryInterval); errnum != 0) {
      close(fd);
      if (errnum == EWOULDBLOCK) {
        Fail(EBUSY, kOperation, path + " is held by another writer (waited " + std::to_string(timeout_ms) + " ms)");
      }
      errno = errnum;
      FailErrno(kOperation, "cannot lock " + path);
    }
    if (StillNamed(fd, path)) return Locked{path, fd};
    close(fd);
  }
}

}  // namespace

void FileLock::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "FileLock", {InstanceMethod<&FileLock::Release>("release")});
  AddonData::Of(env).file_lock = Napi::Persistent(constructor);
  exports.Set("lockFile", Napi::Function::New<&FileLock::Take>(env, "lockFile"));
}

FileLock::FileLock(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FileLock>(info), addon_(&AddonData::Of(info.Env())) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "FileLock is created by lockFile()");
  }
  auto* locked = info[0].As<Napi::External<Locked>>().Data();
  path_ = locked->path;
  fd_ = std::exchange(locked->fd, -1);
  addon_->Track(this);
}

FileLock::~FileLock() { Close(); }

void FileLock::Close() {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
  addon_->Untrack(this);
}

// lockFile(path, timeoutMs): Promise<FileLock>, rejected with EBUSY once timeoutMs pass.
Napi::Value FileLock::Take(const Napi::CallbackInfo& info) {
  struct Arguments {
    std::string path;
    uint32_t timeout_ms;
  };
  Arguments arguments = ReadArguments(info.Env(), kOperation, [&] {
    return Arguments{AsName(info[0], "path", PATH_MAX - 1), AsInt<uint32_t>(info[1], "timeoutMs")};
  });
  return PromiseWorker<Locked>::Start(
      info.Env(), kOperation, [arguments] { return TakeLock(arguments.path, arguments.timeout_ms); },
      [](Napi::Env env, Locked& locked) -> Napi::Value {
        Napi::Value lock = AddonData::Of(env).file_lock.New({Napi::External<Locked>::New(env, &locked)});
        return lock;
      });
}

// release(): removes the lock file, then lets go of the lock. Safe twice.
Napi::Value FileLock::Release(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) unlink(path_.c_str());
  Close();
  return info.Env().Undefined();
}

}  // namespace bridgewall
