// Copies the private binding's JavaScript descriptors (src/native/iptc.ts)
// into the plain structs of rule.h on the main thread, and dumps back into
// JavaScript. The TypeScript layer has validated every value; what else
// reaches the binding is checked against iptables' own limits (../arguments.h)
// and throws a TypeError or RangeError naming the field.
#pragma once

#include <napi.h>

#include <vector>

#include "iptc/rule.h"

namespace bridgewall::iptc {

IpVersion IpVersionFromJs(const Napi::Value& value);
// One of the tables iptables knows.
std::string TableNameFromJs(const Napi::Value& value);
// [{ family, table, operations, fingerprint? }, ...]. A malformed operation
// fails as EINVAL carrying its index across all tables.
std::vector<TableChange> TableChangesFromJs(const Napi::Value& changes);
Napi::Object TableDumpToJs(Napi::Env env, const TableDump& dump, IpVersion ip_version);

}  // namespace bridgewall::iptc
