// Deleting connection tracking entries through ctnetlink
// (NFNL_SUBSYS_CTNETLINK) on a connection's netfilter netlink socket, which
// lives in the connection's namespace, on a worker thread: the table is
// dumped (once for every family the filters name), every entry matching one
// of the filters is deleted by its original tuple. The filters come from
// TypeScript as one packed buffer (src/native/conntrack.ts); this decides
// nothing beyond matching them.
//
// On a socket kept open, not one opened per call: releasing a netfilter
// netlink socket makes nf_tables wait for the release of what its last
// commit deleted (an RCU grace period, 10 to 45 ms measured here), so a
// socket closed right after a commit that removed elements costs that much.
#pragma once

#include <cstdint>
#include <string>

#include "nft/socket.h"

namespace bridgewall {

// Clears the entries the packed filters match; returns how many were deleted.
// The caller holds the socket's mutex. Throws FailureError (EINVAL for a
// malformed buffer, the kernel's errno otherwise).
uint32_t ClearConntrack(NetlinkSocket& socket, const std::string& packed);

}  // namespace bridgewall
