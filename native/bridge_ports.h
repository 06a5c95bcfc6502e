// Hairpin mode on the ports of a bridge, set over rtnetlink inside a network
// namespace. Docker sets it on each container's veth when the userland proxy
// is off, so a container can reach its own published port through the host.
#pragma once

#include <napi.h>

namespace bridgewall {

void InitBridgePorts(Napi::Env env, Napi::Object exports);

}  // namespace bridgewall
