#include "sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "error.h"
#include "js_values.h"
#include "netns.h"
#include "promise_worker.h"

namespace bridgewall {

namespace {

struct SysctlWrite {
  std::string path;  // relative to /proc/sys, validated by the caller
  std::string value;
};

// true when written, false when the entry does not exist (e.g. a bridge not created yet).
bool WriteOne(const SysctlWrite& entry) {
  std::string full = "/proc/sys/" + entry.path;
  int fd = open(full.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    FailErrno("sysctl.write", "cannot open " + full);
  }
  ssize_t written = write(fd, entry.value.data(), entry.value.size());
  int errnum = errno;
  close(fd);
  if (written != static_cast<ssize_t>(entry.value.size())) {
    errno = written < 0 ? errnum : EIO;
    FailErrno("sysctl.write", "cannot write " + full);
  }
  return true;
}

Napi::Value WriteSysctls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<SysctlWrite> entries;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Object entry = list.Get(i).As<Napi::Object>();
    entries.push_back(SysctlWrite{ReadString(entry, "path"), ReadString(entry, "value")});
  }
  using Results = std::vector<bool>;
  return PromiseWorker<Results>::Start(
      env, "sysctl.write",
      [netns_path, entries = std::move(entries)]() {
        NetnsFd netns(OpenNetns(netns_path, "netns.open"));
        NetnsScope scope(netns.get(), "netns.open");
        Results written;
        for (const auto& entry : entries) written.push_back(WriteOne(entry));
        return written;
      },
      [](Napi::Env env, Results& written) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, written.size());
        for (size_t i = 0; i < written.size(); i++) array.Set(i, Napi::Boolean::New(env, written[i]));
        return array;
      });
}

}  // namespace

void InitSysctl(Napi::Env env, Napi::Object exports) {
  exports.Set("writeSysctls", Napi::Function::New(env, WriteSysctls, "writeSysctls"));
}

}  // namespace bridgewall
