// The work a pool thread does with libiptc: take a snapshot of one table,
// change it and commit it, or read it. Nothing here touches JavaScript.
#pragma once

#include <string>
#include <vector>

#include "iptc/packed_dump.h"
#include "iptc/rule.h"

namespace bridgewall::iptc {

// Reads every packed operation first: a malformed one fails as EINVAL before
// anything else happens. Then, under the xtables lock, inside the namespace
// `netns_fd` (-1 for the calling thread's): takes a snapshot of every table,
// refuses with ERESTART when one no longer has its expected fingerprint,
// applies every operation, and only then commits the tables: at once (each
// on a thread of its own) where each can be put back by
// undoing its operations (undo_log.h), else one by one (the largest last),
// each kept before the next (undo log or image, table_image.h). libiptc
// commits one table at a time, so when a commit fails, the tables committed
// are put back under the same lock. Of several tables failing, the first in
// `transaction` names the failure. A failing operation fails with its index
// counted across all tables; nothing is committed then. Returns each table's
// fingerprint as committed (what a read of it now gives).
std::vector<std::string> RunTransaction(const Transaction& transaction, int netns_fd);

// The tables that exist in the namespace (the kernel's ip_tables_names or
// ip6_tables_names, read from inside it), without opening any: opening a
// legacy table creates it.
std::vector<std::string> ExistingTables(IpVersion ip_version, int netns_fd);

// Every chain of `table`, in kernel order, with its rules decoded, packed as
// the dump layout of src/native/iptc.ts.
PackedDump ReadTable(IpVersion ip_version, const std::string& table, int netns_fd);

}  // namespace bridgewall::iptc
