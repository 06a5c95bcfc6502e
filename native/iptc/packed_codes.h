// The codes and bit sets of the packed layouts of src/native/iptc.ts (which
// describes them once), shared by the operations reader
// (packed_operations.cc) and the dump writer (packed_dump.cc).
#pragma once

#include <cstdint>

namespace bridgewall::iptc {

// Only read back in dumps: no operation carries kUnsupported.
enum class TargetCode : uint8_t { kAccept = 1, kDrop, kReturn, kJump, kDnat, kSnat, kMasquerade, kUnsupported };
enum class MatchCode : uint8_t { kTcp = 1, kUdp, kSctp, kAddrtype, kConntrack, kMark, kComment, kUnsupported };

constexpr uint8_t kRuleSource = 1, kRuleDestination = 2, kRuleInInterface = 4, kRuleOutInterface = 8, kRuleProtocol = 16;
constexpr uint8_t kPortSource = 1, kPortDestination = 2, kPortSourceNegated = 4, kPortDestinationNegated = 8;
constexpr uint8_t kAddrtypeSourceNegated = 1, kAddrtypeDestinationNegated = 2;
constexpr uint8_t kNatAddress = 1, kNatPorts = 2;

}  // namespace bridgewall::iptc
