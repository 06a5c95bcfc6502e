#include "sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arguments.h"
#include "error.h"
#include "netns.h"
#include "promise_worker.h"

namespace bridgewall {

namespace {

struct SysctlWrite {
  std::string path;  // relative to /proc/sys
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

// The entry's value without its trailing newline; nullopt when it does not exist (a kernel without the setting).
std::optional<std::string> ReadOne(const std::string& path) {
  std::string full = "/proc/sys/" + path;
  int fd = open(full.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    FailErrno("sysctl.read", "cannot open " + full);
  }
  // Entries are short; the longest read here (a reserved-port list) is far below this.
  char buffer[4096];
  std::string text;
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int errnum = errno;
      close(fd);
      errno = errnum;
      FailErrno("sysctl.read", "cannot read " + full);
    }
    if (got == 0 || text.size() + got > 65536) break;
    text.append(buffer, got);
  }
  close(fd);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// Relative to /proc/sys and staying inside it: the worker writes as root. In
// normal form too (no empty, "." or ".." component), so the entry opened is
// the one the caller checked component by component (an interface's name).
std::string SysctlPathFromJs(const Napi::Value& value) {
  std::string path = AsName(value, "path", PATH_MAX - sizeof("/proc/sys/"));
  bool irregular = false;
  for (std::string_view rest = path; !irregular;) {
    size_t slash = rest.find('/');
    std::string_view component = rest.substr(0, slash);
    irregular = component.empty() || component == "." || component == "..";
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (irregular) {
    throw Napi::RangeError::New(value.Env(), "path must stay inside /proc/sys, without empty, . or .. components");
  }
  return path;
}

Napi::Value WriteSysctls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = ReadArguments(env, "sysctl.write", [&] { return AsNetnsPath(info[0]); });
  std::vector<SysctlWrite> entries = ReadArguments(env, "sysctl.write", [&] {
    Napi::Array list = AsArray(info[1], "entries");
    std::vector<SysctlWrite> read;
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object entry = AsObject(list.Get(i), "entries[" + std::to_string(i) + "]");
      read.push_back(SysctlWrite{SysctlPathFromJs(entry.Get("path")), ReadString(entry, "value")});
    }
    return read;
  });
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

Napi::Value ReadSysctls(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns_path = ReadArguments(env, "sysctl.read", [&] { return AsNetnsPath(info[0]); });
  std::vector<std::string> paths = ReadArguments(env, "sysctl.read", [&] {
    Napi::Array list = AsArray(info[1], "paths");
    std::vector<std::string> read;
    for (uint32_t i = 0; i < list.Length(); i++) read.push_back(SysctlPathFromJs(list.Get(i)));
    return read;
  });
  using Values = std::vector<std::optional<std::string>>;
  return PromiseWorker<Values>::Start(
      env, "sysctl.read",
      [netns_path, paths = std::move(paths)]() {
        NetnsFd netns(OpenNetns(netns_path, "netns.open"));
        NetnsScope scope(netns.get(), "netns.open");
        Values values;
        for (const auto& path : paths) values.push_back(ReadOne(path));
        return values;
      },
      [](Napi::Env env, Values& values) -> Napi::Value {
        Napi::Array array = Napi::Array::New(env, values.size());
        for (size_t i = 0; i < values.size(); i++) {
          array.Set(i, values[i] ? Napi::String::New(env, *values[i]) : env.Null());
        }
        return array;
      });
}

}  // namespace

void InitSysctl(Napi::Env env, Napi::Object exports) {
  exports.Set("writeSysctls", Napi::Function::New(env, WriteSysctls, "writeSysctls"));
  exports.Set("readSysctls", Napi::Function::New(env, ReadSysctls, "readSysctls"));
}

}  // namespace bridgewall
