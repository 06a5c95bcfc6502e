#include <napi.h>

#include <vector>

#include "addon_data.h"
#include "iptc/table.h"
#include "iptc/xt_extensions.h"
#include "nft/connection.h"
#include "nft/elements.h"
#include "sysctl.h"
#include "bridge_ports.h"
#include "file_lock.h"
#include "netns_identity.h"

namespace bridgewall {

namespace {

// Runs when the environment (main thread or a worker_thread) goes away, before
// finalizers are guaranteed to have run: close whatever the program left open.
void CloseOpenHandles(AddonData* data) {
  std::vector<Closable*> handles(data->open_handles.begin(), data->open_handles.end());
  for (Closable* handle : handles) handle->Close();
}

}  // namespace

}  // namespace bridgewall

// Outside any namespace: NODE_API_MODULE pastes the name into an identifier.
static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  using namespace bridgewall;
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  env.AddCleanupHook(CloseOpenHandles, data);
  NftConnection::Init(env, exports);
  InitNftElements(env, exports);
  IptcTable::Init(env, exports);
  InitXtExtensions(env, exports);
  InitSysctl(env, exports);
  InitBridgePorts(env, exports);
  InitNetnsIdentity(env, exports);
  FileLock::Init(env, exports);
  return exports;
}

NODE_API_MODULE(bridgewall, InitAddon)
