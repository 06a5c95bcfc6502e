// The kernel's cookie of a network namespace (SO_NETNS_COOKIE, Linux 5.14):
// unique per namespace until reboot and never reused, unlike the namespace's
// inode number, which a namespace created after another's deletion may get.
#pragma once

#include <napi.h>

namespace bridgewall {

void InitNetnsCookie(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
