// The identity of a network namespace addressed by path, checked the way the
// library will use it: opened, found to be a network namespace, and entered.
// Its identity is the device and inode of its nsfs file (what the path still
// names later, checked with a stat) and its cookie (SO_NETNS_COOKIE, Linux
// 5.14: unique until reboot and never reused, unlike the inode number, which a
// namespace created after another's deletion may get).
#pragma once

#include <napi.h>

namespace bridgewall {

void InitNetnsIdentity(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
