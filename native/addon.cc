#include <napi.h>

#include <vector>

#include "addon_data.h"
#include "iptc/table.h"
#include "nft/connection.h"

namespace bridgewall {

namespace {

// Runs when the environment (main thread or a worker_thread) goes away, before
// finalizers are guaranteed to have run: close whatever the program left open.
void CloseOpenHandles(AddonData* data) {
  std::vector<Closable*> handles(data->open_handles.begin(), data->open_handles.end());
  for (Closable* handle : handles) handle->Close();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  env.AddCleanupHook(CloseOpenHandles, data);
  NftConnection::Init(env, exports);
  IptcTable::Init(env, exports);
  return exports;
}

}  // namespace

}  // namespace bridgewall

NODE_API_MODULE(bridgewall, bridgewall::Init)
