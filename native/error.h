// Failures raised on worker threads, carried as plain data, and turned into
// JavaScript errors with a stable string code on the main thread.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

// Generated at build time from native/error_codes.json (binding.gyp, native/error_codes.js):
// the errnos reported by name (BRIDGEWALL_ERRNO_CODES) and the named codes such as kNoLegacy.
#include "error_codes.h"

namespace bridgewall {

struct Failure {
  int errnum = 0;         // positive errno; 0 when the failure has none
  std::string operation;  // stable dotted name, e.g. "nft.commit"
  std::string message;
  long index = -1;        // index of the rejected object in a batch, -1 if none
  const char* code = nullptr;  // a named code (error_codes.h) instead of the errno's, or null
};

class FailureError : public std::exception {
 public:
  explicit FailureError(Failure failure) : failure_(std::move(failure)) {}
  const char* what() const noexcept override { return failure_.message.c_str(); }
  const Failure& failure() const { return failure_; }

 private:
  Failure failure_;
};

[[noreturn]] void Fail(int errnum, std::string operation, std::string message, long index = -1);
// Fails with a named code that says more than the errno (kept in `errno`), e.g. kNoLegacy.
[[noreturn]] void FailNamed(const char* code, int errnum, std::string operation, std::string message);
// Fails with the current errno.
[[noreturn]] void FailErrno(std::string operation, std::string message);

// The stable code for an errno ("EPERM", "ERESTART", ...), "UNKNOWN" when it has none in our table.
const char* ErrorCode(int errnum);

Napi::Error ToJsError(Napi::Env env, const Failure& failure);

}  // namespace bridgewall
