// Converts between the plain Rule description and the entry bytes libiptc
// and the kernel use (ipt_entry / ip6t_entry followed by matches and target).
#pragma once

#include <cstdint>
#include <vector>

#include "iptc/family.h"
#include "iptc/rule.h"

namespace bridgewall::iptc {

// The entry iptables 1.8.9 builds for `rule`, byte for byte, including the
// match and target revisions it picks. Standard targets carry their verdict or
// chain as a name, which libiptc resolves when the entry is added.
template <typename Family>
std::vector<uint8_t> EncodeEntry(const Rule& rule);

// The rule in `entry`. `target_name` is libiptc's reading of its target
// ("ACCEPT", a chain name, "DNAT", ...), which alone knows where jumps lead.
// Anything this library does not model decodes as Unsupported*.
template <typename Family>
Rule DecodeEntry(const typename Family::Entry& entry, const char* target_name);

}  // namespace bridgewall::iptc
