// The work a pool thread does with libiptc: take a snapshot of one table,
// change it and commit it, or read it. Nothing here touches JavaScript.
#pragma once

#include <string>

#include "iptc/rule.h"

namespace bridgewall::iptc {

// Applies every operation to one snapshot and commits it as one table
// replacement, under the xtables lock, inside the namespace `netns_fd` (-1 for
// the calling thread's). The first failing operation aborts the transaction
// with its index; nothing is committed then.
void RunTransaction(const Transaction& transaction, int netns_fd);

// Every chain of `table`, in kernel order, with its rules decoded.
TableDump ReadTable(IpVersion ip_version, const std::string& table, int netns_fd);

}  // namespace bridgewall::iptc
