#include "error.h"

#include <cerrno>
#include <cstring>

namespace bridgewall {

namespace {

struct CodeEntry {
  int errnum;
  const char* code;
};

// Codes callers may branch on. Anything else reads "UNKNOWN" with the numeric errno kept.
// The TypeScript table (src/errors.ts) adds one code of its own, with errno 0
// and never raised here: ECONFLICT (a change would alter another manager's rules).
constexpr CodeEntry kCodes[] = {
    {EPERM, "EPERM"},         {ENOENT, "ENOENT"},
    {EINTR, "EINTR"},         {EIO, "EIO"},
    {E2BIG, "E2BIG"},         {EBADF, "EBADF"},
    {EAGAIN, "EAGAIN"},       {ENOMEM, "ENOMEM"},
    {EACCES, "EACCES"},       {EFAULT, "EFAULT"},
    {EBUSY, "EBUSY"},         {EEXIST, "EEXIST"},
    {ENODEV, "ENODEV"},       {ENOTDIR, "ENOTDIR"},
    {EINVAL, "EINVAL"},       {ENFILE, "ENFILE"},
    {EMFILE, "EMFILE"},       {ENOSPC, "ENOSPC"},
    {ERANGE, "ERANGE"},       {ENAMETOOLONG, "ENAMETOOLONG"},
    {ENOTEMPTY, "ENOTEMPTY"}, {ELOOP, "ELOOP"},
    {ERESTART, "ERESTART"},   {EMSGSIZE, "EMSGSIZE"},
    {EPROTONOSUPPORT, "EPROTONOSUPPORT"},
    {EOPNOTSUPP, "EOPNOTSUPP"}, {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {ENOBUFS, "ENOBUFS"},     {ETIMEDOUT, "ETIMEDOUT"},
    {ENXIO, "ENXIO"},         {EOVERFLOW, "EOVERFLOW"},
    {EADDRINUSE, "EADDRINUSE"},
    {ENOPROTOOPT, "ENOPROTOOPT"},
};
// Named codes (error.h): kNoLegacy "ENOLEGACY".

}  // namespace

void Fail(int errnum, std::string operation, std::string message, long index) {
  throw FailureError(Failure{errnum, std::move(operation), std::move(message), index});
}

void FailNamed(const char* code, int errnum, std::string operation, std::string message) {
  throw FailureError(Failure{errnum, std::move(operation), std::move(message), -1, code});
}

void FailErrno(std::string operation, std::string message) {
  int errnum = errno;
  Fail(errnum, std::move(operation), message + ": " + std::strerror(errnum));
}

const char* ErrorCode(int errnum) {
  for (const auto& entry : kCodes) {
    if (entry.errnum == errnum) return entry.code;
  }
  return "UNKNOWN";
}

Napi::Error ToJsError(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.message);
  Napi::Object object = error.Value();
  object.Set("code", failure.code != nullptr ? failure.code : ErrorCode(failure.errnum));
  object.Set("errno", failure.errnum);
  object.Set("operation", failure.operation);
  if (failure.index >= 0) object.Set("index", static_cast<double>(failure.index));
  return error;
}

}  // namespace bridgewall
