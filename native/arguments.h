// Reading plain values out of the private binding's JavaScript arguments on
// the main thread. The TypeScript layer validates what callers write; these
// checks keep anything else that reaches the binding from being misread (a
// number wrapped into another, a name cut short at a NUL) or from overflowing
// a buffer further down. A wrong value throws a TypeError or RangeError that
// names its field, and ReadArguments turns that into the call's typed error.
#pragma once

#include <limits.h>
#include <napi.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "error.h"

namespace bridgewall {

// Runs `read`, which copies a call's arguments into C++ data. Whatever it
// throws (a reader's TypeError or RangeError, a conversion node-addon-api
// refused, a getter that threw) becomes the EINVAL error of `operation`, so
// a malformed call fails with a stable code like any call the kernel refuses.
// FailureErrors from ReadItem keep the index of the item they name.
template <typename Read>
auto ReadArguments(Napi::Env env, const char* operation, Read read) -> decltype(read()) {
  try {
    return read();
  } catch (const FailureError& error) {
    throw ToJsError(env, error.failure());
  } catch (const Napi::Error& error) {
    throw ToJsError(env, Failure{EINVAL, operation, error.Message(), -1});
  }
}

// Reads item `index` of a list: a malformed one fails as EINVAL of
// `operation`, named by `field` and carrying `index` for the caller to
// describe (the batch object, the transaction's operation).
template <typename Read>
auto ReadItem(const char* operation, const std::string& field, long index, Read read) -> decltype(read()) {
  try {
    return read();
  } catch (const Napi::Error& error) {
    Fail(EINVAL, operation, field + ": " + error.Message(), index);
  }
}

inline bool Has(const Napi::Object& object, const char* name) {
  Napi::Value value = object.Get(name);
  return !value.IsUndefined() && !value.IsNull();
}

inline std::string AsString(const Napi::Value& value, const std::string& field) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), field + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

// A string the kernel keeps NUL-terminated in `max_bytes` bytes and the NUL:
// a longer one would be cut or overflow, an embedded NUL cut it short unseen.
inline std::string AsText(const Napi::Value& value, const std::string& field, size_t max_bytes) {
  std::string text = AsString(value, field);
  if (text.size() > max_bytes || text.find('\0') != std::string::npos) {
    throw Napi::RangeError::New(value.Env(),
                                field + " must be at most " + std::to_string(max_bytes) + " bytes without NUL");
  }
  return text;
}

// A non-empty AsText: the name of a table, chain, set or interface.
inline std::string AsName(const Napi::Value& value, const std::string& field, size_t max_bytes) {
  std::string name = AsText(value, field, max_bytes);
  if (name.empty()) throw Napi::RangeError::New(value.Env(), field + " must not be empty");
  return name;
}

// An integer from `min` to `max`: a fraction, NaN or a number out of range
// would otherwise turn into some other number (or be undefined behaviour to
// convert at all).
inline double AsInteger(const Napi::Value& value, const std::string& field, double min, double max) {
  if (!value.IsNumber()) throw Napi::TypeError::New(value.Env(), field + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= min && number <= max) || std::trunc(number) != number) {
    throw Napi::RangeError::New(value.Env(), field + " must be an integer from " +
                                                 std::to_string(static_cast<long long>(min)) + " to " +
                                                 std::to_string(static_cast<long long>(max)));
  }
  return number;
}

// An integer that fits `Int` exactly (uint8_t, uint16_t, uint32_t, int32_t).
template <typename Int>
Int AsInt(const Napi::Value& value, const std::string& field) {
  static_assert(sizeof(Int) <= 4, "AsU64 reads 64-bit values");
  return static_cast<Int>(
      AsInteger(value, field, std::numeric_limits<Int>::min(), std::numeric_limits<Int>::max()));
}

// Number.MAX_SAFE_INTEGER: above it, numbers skip integers.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// A BigInt of 64 bits, or a number up to kMaxSafeInteger.
inline uint64_t AsU64(const Napi::Value& value, const std::string& field) {
  if (value.IsBigInt()) {
    bool lossless = true;
    uint64_t number = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(value.Env(), field + " must be a BigInt from 0 to 2^64 - 1");
    return number;
  }
  return static_cast<uint64_t>(AsInteger(value, field, 0, kMaxSafeInteger));
}

inline bool AsBool(const Napi::Value& value, const std::string& field) {
  if (!value.IsBoolean()) throw Napi::TypeError::New(value.Env(), field + " must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

inline std::string AsBytes(const Napi::Value& value, const std::string& field) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(value.Env(), field + " must be a Uint8Array");
  }
  auto bytes = value.As<Napi::Uint8Array>();
  return std::string(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
}

inline Napi::Array AsArray(const Napi::Value& value, const std::string& field) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), field + " must be an array");
  return value.As<Napi::Array>();
}

inline Napi::Object AsObject(const Napi::Value& value, const std::string& field) {
  if (!value.IsObject()) throw Napi::TypeError::New(value.Env(), field + " must be an object");
  return value.As<Napi::Object>();
}

// A path for OpenNetns: "" for the caller's namespace.
inline std::string AsNetnsPath(const Napi::Value& value) { return AsText(value, "netnsPath", PATH_MAX - 1); }

// The same readers for a field of an object, named by its key.
inline std::string ReadString(const Napi::Object& object, const char* name) { return AsString(object.Get(name), name); }
inline std::string ReadText(const Napi::Object& object, const char* name, size_t max_bytes) {
  return AsText(object.Get(name), name, max_bytes);
}
inline std::string ReadName(const Napi::Object& object, const char* name, size_t max_bytes) {
  return AsName(object.Get(name), name, max_bytes);
}
template <typename Int>
Int ReadInt(const Napi::Object& object, const char* name) {
  return AsInt<Int>(object.Get(name), name);
}
inline uint64_t ReadU64(const Napi::Object& object, const char* name) { return AsU64(object.Get(name), name); }
inline bool ReadBool(const Napi::Object& object, const char* name) { return AsBool(object.Get(name), name); }
inline std::string ReadBytes(const Napi::Object& object, const char* name) { return AsBytes(object.Get(name), name); }
inline Napi::Array ReadArray(const Napi::Object& object, const char* name) { return AsArray(object.Get(name), name); }
inline Napi::Object ReadObject(const Napi::Object& object, const char* name) { return AsObject(object.Get(name), name); }

}  // namespace bridgewall
