// Copies the private binding's JavaScript arguments (src/native/iptc.ts) into
// the plain structs of rule.h on the main thread. (Dumps go back to
// JavaScript as the bytes a worker packed them in: packed_dump.h.) A transaction's operations are copied as the bytes they are
// packed in, for a worker to read (packed_operations.h). A malformed argument
// throws a TypeError or RangeError naming the field (../arguments.h).
#pragma once

#include <napi.h>

#include <vector>

#include "iptc/rule.h"

namespace bridgewall::iptc {

IpVersion IpVersionFromJs(const Napi::Value& value);
// One of the tables iptables knows.
std::string TableNameFromJs(const Napi::Value& value);
// [{ family, table, operations, fingerprint? }, ...], `operations` a Uint8Array.
std::vector<TableChange> TableChangesFromJs(const Napi::Value& changes);

}  // namespace bridgewall::iptc
