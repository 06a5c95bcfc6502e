// Reading plain values out of already-validated JavaScript objects. The
// TypeScript layer validates; these checks only keep a wrong call from
// reaching the kernel, with a TypeError that names the field.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace bridgewall {

inline Napi::Value Field(const Napi::Object& object, const char* name) { return object.Get(name); }

inline bool Has(const Napi::Object& object, const char* name) {
  Napi::Value value = object.Get(name);
  return !value.IsUndefined() && !value.IsNull();
}

inline std::string ReadString(const Napi::Object& object, const char* name) {
  Napi::Value value = object.Get(name);
  if (!value.IsString()) throw Napi::TypeError::New(object.Env(), std::string(name) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

inline double ReadNumber(const Napi::Object& object, const char* name) {
  Napi::Value value = object.Get(name);
  if (!value.IsNumber()) throw Napi::TypeError::New(object.Env(), std::string(name) + " must be a number");
  return value.As<Napi::Number>().DoubleValue();
}

inline uint32_t ReadU32(const Napi::Object& object, const char* name) {
  return static_cast<uint32_t>(ReadNumber(object, name));
}

inline int32_t ReadI32(const Napi::Object& object, const char* name) {
  return static_cast<int32_t>(ReadNumber(object, name));
}

inline uint64_t ReadU64(const Napi::Object& object, const char* name) {
  Napi::Value value = object.Get(name);
  if (value.IsBigInt()) {
    bool lossless = true;
    return value.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return static_cast<uint64_t>(ReadNumber(object, name));
}

inline std::string ReadBytes(const Napi::Object& object, const char* name) {
  Napi::Value value = object.Get(name);
  if (!value.IsTypedArray()) throw Napi::TypeError::New(object.Env(), std::string(name) + " must be a Uint8Array");
  auto bytes = value.As<Napi::Uint8Array>();
  return std::string(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
}

}  // namespace bridgewall
