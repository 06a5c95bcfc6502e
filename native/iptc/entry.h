// Converts between the plain Rule description and the entry bytes libiptc
// and the kernel use (ipt_entry / ip6t_entry followed by matches and target).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "iptc/family.h"
#include "iptc/rule.h"

namespace bridgewall::iptc {

// The entry iptables 1.8.9 builds for `rule`, byte for byte, including the
// match and target revisions it picks. Standard targets carry their verdict or
// chain as a name, which libiptc resolves when the entry is added.
template <typename Family>
std::vector<uint8_t> EncodeEntry(const Rule& rule);

// One xt match or target as nft_compat carries it (NFTA_MATCH_* / NFTA_TARGET_*).
struct XtExtension {
  std::string name;
  uint8_t revision = 0;
  std::vector<uint8_t> info;  // the bytes EncodeEntry puts after the header, padding included
};

// A rule's matches in order, and its target when it is an extension (NAT);
// verdicts and jumps have none.
struct XtExtensions {
  std::vector<XtExtension> matches;
  std::optional<XtExtension> target;
};

// The same matches and target as EncodeEntry, as iptables-nft 1.8.9 hands
// them to nft_compat: the legacy and the nf_tables encoders share every byte.
template <typename Family>
XtExtensions EncodeXtExtensions(const Rule& rule);

// The rule in `entry`. `target_name` is libiptc's reading of its target
// ("ACCEPT", a chain name, "DNAT", ...), which alone knows where jumps lead.
// Anything this library does not model decodes as Unsupported*.
template <typename Family>
Rule DecodeEntry(const typename Family::Entry& entry, const char* target_name);

// The match, or the target, an nft_compat expression carries (as
// iptables-nft writes them: the info bytes after the header, padding
// included), decoded as the same extension in a legacy entry is. A target
// here is always an extension; one this library does not model, like any
// match, decodes as Unsupported*.
template <typename Family>
Match DecodeXtMatch(const XtExtension& extension);
template <typename Family>
Target DecodeXtTarget(const XtExtension& extension);

}  // namespace bridgewall::iptc
