// Deleting connection tracking entries through ctnetlink
// (NFNL_SUBSYS_CTNETLINK), inside a network namespace, on a worker thread:
// the table of each family the filters name is dumped, every entry matching
// one of the filters is deleted by its original tuple. The filters come from
// TypeScript as one packed buffer (src/native/conntrack.ts); this decides
// nothing beyond matching them.
#pragma once

#include <napi.h>

namespace bridgewall {

void InitConntrack(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
