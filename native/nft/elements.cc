// Set elements matched by their packed bytes, as the kernel identifies them:
// an element is its key (and, in a set of ranges, its closing key), and a
// map's element has a value (data). A declarative apply compares the tens of
// thousands of elements it plans with those it reads back; here that is a
// hash table of byte strings, with no JavaScript object or string per
// element, and it costs as little in a process's first call as in its last.
#include "nft/elements.h"

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "arguments.h"
#include "nft/limits.h"

namespace bridgewall {

namespace {

constexpr const char* kOperation = "nft.matchElements";

// `count` elements packed back to back, read in place (the call is synchronous).
struct PackedElements {
  size_t count = 0;
  size_t key_len = 0;
  const uint8_t* keys = nullptr;
  const uint8_t* key_ends = nullptr;
  size_t data_len = 0;
  const uint8_t* data = nullptr;
};

// The Uint8Array `name` of `o`, which must hold `count` values of `length` bytes.
const uint8_t* ReadValues(const Napi::Object& o, const std::string& field, const char* name, size_t count, size_t length) {
  Napi::Value value = o.Get(name);
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(o.Env(), field + "." + name + " must be a Uint8Array");
  }
  auto bytes = value.As<Napi::Uint8Array>();
  if (bytes.ByteLength() != count * length) {
    throw Napi::RangeError::New(o.Env(), field + "." + name + " must hold " + std::to_string(count) + " values of " +
                                             std::to_string(length) + " bytes");
  }
  return bytes.Data();
}

PackedElements ReadPacked(const Napi::Value& value, const std::string& field) {
  Napi::Object o = AsObject(value, field);
  PackedElements p;
  // Element numbers and their negations (-2 - i) fit an Int32Array entry.
  p.count = static_cast<size_t>(AsInteger(o.Get("count"), field + ".count", 0, std::numeric_limits<int32_t>::max() / 2));
  p.key_len = static_cast<size_t>(AsInteger(o.Get("keyLen"), field + ".keyLen", 1, kMaxValueBytes));
  p.keys = ReadValues(o, field, "keys", p.count, p.key_len);
  if (Has(o, "keyEnds")) p.key_ends = ReadValues(o, field, "keyEnds", p.count, p.key_len);
  if (Has(o, "data")) {
    p.data_len = static_cast<size_t>(AsInteger(o.Get("dataLen"), field + ".dataLen", 1, kMaxValueBytes));
    p.data = ReadValues(o, field, "data", p.count, p.data_len);
  }
  return p;
}

// FNV-1a over the key's bytes and the closing key's.
uint64_t IdentityHash(const PackedElements& p, size_t i) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const uint8_t* bytes : {p.keys, p.key_ends}) {
    if (bytes == nullptr) continue;
    for (const uint8_t *at = bytes + i * p.key_len, *end = at + p.key_len; at < end; ++at) {
      hash = (hash ^ *at) * 0x100000001b3ULL;
    }
  }
  return hash ^ (hash >> 29);
}

bool SameIdentity(const PackedElements& a, size_t i, const PackedElements& b, size_t j) {
  size_t length = a.key_len;
  return std::memcmp(a.keys + i * length, b.keys + j * length, length) == 0 &&
         (a.key_ends == nullptr || std::memcmp(a.key_ends + i * length, b.key_ends + j * length, length) == 0);
}

bool SameData(const PackedElements& a, size_t i, const PackedElements& b, size_t j) {
  size_t length = a.data_len;
  return a.data == nullptr || std::memcmp(a.data + i * length, b.data + j * length, length) == 0;
}

// nftMatchElements(have, want): null when each element of `want` has an
// element of `have` of its own with its key and value and `have` holds no
// other (the two hold the same elements); else, for each element j of
// `want`, i when element i of `have` is the first there with its key and
// has its value, -2 - i when it has the key but another value, -1 when none
// has the key. Both must be of one layout (key length, closing keys or
// none, data length or none).
Napi::Value MatchElements(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto [have, want] = ReadArguments(env, kOperation, [&] {
    PackedElements have = ReadPacked(info[0], "have");
    PackedElements want = ReadPacked(info[1], "want");
    if (have.key_len != want.key_len || (have.key_ends == nullptr) != (want.key_ends == nullptr) ||
        have.data_len != want.data_len) {
      throw Napi::TypeError::New(env, "have and want must be packed alike (keyLen, keyEnds, dataLen)");
    }
    return std::pair{have, want};
  });

  // Open addressing, at most half full: element number + 1 per slot, 0 where none.
  size_t slots = 16;
  while (slots < have.count * 2) slots *= 2;
  const size_t mask = slots - 1;
  std::vector<uint32_t> table(slots, 0);
  std::vector<uint64_t> hashes(have.count);
  for (size_t i = 0; i < have.count; ++i) {
    uint64_t hash = hashes[i] = IdentityHash(have, i);
    size_t slot = hash & mask;
    for (; table[slot] != 0; slot = (slot + 1) & mask) {
      size_t held = table[slot] - 1;
      if (hashes[held] == hash && SameIdentity(have, held, have, i)) break;
    }
    if (table[slot] == 0) table[slot] = static_cast<uint32_t>(i + 1);
  }

  std::vector<int32_t> matches(want.count);
  std::vector<bool> taken(have.count, false);
  bool same = have.count == want.count;
  for (size_t j = 0; j < want.count; ++j) {
    uint64_t hash = IdentityHash(want, j);
    int32_t match = -1;
    for (size_t slot = hash & mask; table[slot] != 0; slot = (slot + 1) & mask) {
      size_t held = table[slot] - 1;
      if (hashes[held] != hash || !SameIdentity(have, held, want, j)) continue;
      match = SameData(have, held, want, j) ? static_cast<int32_t>(held) : -2 - static_cast<int32_t>(held);
      break;
    }
    matches[j] = match;
    same = same && match >= 0 && !taken[match];
    if (match >= 0) taken[match] = true;
  }
  if (same) return env.Null();
  Napi::Int32Array result = Napi::Int32Array::New(env, want.count);
  std::copy(matches.begin(), matches.end(), result.Data());
  return result;
}

}  // namespace

void InitNftElements(Napi::Env env, Napi::Object exports) {
  exports.Set("nftMatchElements", Napi::Function::New(env, MatchElements, "nftMatchElements"));
}

}  // namespace bridgewall
