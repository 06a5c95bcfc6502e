#pragma once

#include <napi.h>

namespace bridgewall {

// nftMatchElements: two sets' packed elements matched by their bytes.
void InitNftElements(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
