#include "error.h"

#include <cerrno>
#include <cstring>

namespace bridgewall {

namespace {

struct CodeEntry {
  int errnum;
  const char* code;
};

// Codes callers may branch on: the errnos of native/error_codes.json (the one
// table, see error_codes.h). Anything else reads "UNKNOWN" with the numeric errno kept.
constexpr CodeEntry kCodes[] = {
#define BRIDGEWALL_CODE_ENTRY(code) {code, #code},
    BRIDGEWALL_ERRNO_CODES(BRIDGEWALL_CODE_ENTRY)
#undef BRIDGEWALL_CODE_ENTRY
};

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
