// The identity (device and inode of its nsfs file) of a network namespace
// addressed by path, checked the way the library will use it: opened, found
// to be a network namespace, and entered.
#pragma once

#include <napi.h>

namespace bridgewall {

void InitNetnsIdentity(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
