// Runs one kernel round-trip on the libuv pool and settles a Promise with it.
// Inputs are captured by value as plain C++ data before the worker starts, so
// nothing on the worker thread touches a JavaScript value.
#pragma once

#include <napi.h>

#include <functional>
#include <utility>

#include "error.h"

namespace bridgewall {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Convert = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise Start(Napi::Env env, const char* operation, Work work, Convert convert) {
    auto* worker = new PromiseWorker(env, operation, std::move(work), std::move(convert));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      result_ = work_();
    } catch (const FailureError& error) {
      failure_ = error.failure();
      SetError(failure_.message);
    } catch (const std::exception& error) {
      failure_ = Failure{0, operation_, error.what(), -1};
      SetError(failure_.message);
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(convert_(env, result_));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    }
  }

  void OnError(const Napi::Error&) override { deferred_.Reject(ToJsError(Env(), failure_).Value()); }

 private:
  PromiseWorker(Napi::Env env, const char* operation, Work work, Convert convert)
      : Napi::AsyncWorker(env, operation),
        deferred_(Napi::Promise::Deferred::New(env)),
        operation_(operation),
        work_(std::move(work)),
        convert_(std::move(convert)) {}

  Napi::Promise::Deferred deferred_;
  const char* operation_;
  Work work_;
  Convert convert_;
  Result result_{};
  Failure failure_;
};

// Shorthand for work that resolves with undefined.
struct Nothing {};

}  // namespace bridgewall
