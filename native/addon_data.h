// Per-environment state: the constructors of the wrapped classes and every
// handle still open, so the environment's cleanup hook can close them.
#pragma once

#include <napi.h>

#include <unordered_set>

namespace bridgewall {

class Closable {
 public:
  virtual ~Closable() = default;
  virtual void Close() = 0;
};

struct AddonData {
  Napi::FunctionReference nft_connection;
  Napi::FunctionReference iptc_table;
  Napi::FunctionReference file_lock;
  std::unordered_set<Closable*> open_handles;

  static AddonData& Of(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }
  void Track(Closable* handle) { open_handles.insert(handle); }
  void Untrack(Closable* handle) { open_handles.erase(handle); }
};

}  // namespace bridgewall
