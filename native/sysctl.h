// Kernel settings under /proc/sys written (and read) inside a network
// namespace. The net.* entries a thread sees are those of its own namespace,
// so the worker thread enters the target namespace, writes or reads, and returns.
#pragma once

#include <napi.h>

namespace bridgewall {

void InitSysctl(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
