// Everything that differs between IPv4 (libip4tc, ipt_entry) and IPv6
// (libip6tc, ip6t_entry), gathered in two traits classes so the encoder, the
// decoder and the libiptc session are written once as templates.
#pragma once

#include <libiptc/libiptc.h>
// Unlike libiptc.h, libip6tc.h declares its functions without C linkage for C++.
extern "C" {
#include <libiptc/libip6tc.h>
}

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

namespace bridgewall::iptc {

// The three shapes of NAT ranges the kernel's NAT targets take.
enum class NatLayout {
  kIpv4MultiRangeCompat,  // nf_nat_ipv4_multi_range_compat (IPv4 revision 0)
  kRange,                 // nf_nat_range (revision 1, and IPv6 MASQUERADE revision 0)
  kRange2,                // nf_nat_range2 (revision 2)
};

// The revision iptables 1.8.9 writes for each NAT target, per family. The
// kernel accepts other revisions too, but iptables-save then prints
// "[unsupported revision]", so these must match iptables exactly.
struct NatTargetFormat {
  const char* name;
  uint8_t revision;
  NatLayout layout;
};

struct Ipv4 {
  using Entry = ipt_entry;
  // The kernel's own interface to a table (what libiptc wraps), for the
  // table image a transaction puts back.
  using GetInfo = ipt_getinfo;
  using GetEntries = ipt_get_entries;
  using Replace = ipt_replace;
  static constexpr int kSocketFamily = AF_INET;
  static constexpr int kSocketLevel = IPPROTO_IP;
  static constexpr int kGetInfo = IPT_SO_GET_INFO;
  static constexpr int kGetEntries = IPT_SO_GET_ENTRIES;
  static constexpr int kSetReplace = IPT_SO_SET_REPLACE;
  static constexpr int kAddCounters = IPT_SO_SET_ADD_COUNTERS;
  static constexpr unsigned kAddressLength = 4;
  static auto& Header(Entry& entry) { return entry.ip; }
  static const auto& Header(const Entry& entry) { return entry.ip; }

  // IPv4 matches `proto` whenever it is non-zero; there is no flag for it.
  static constexpr uint8_t kProtocolFlag = 0;
  static constexpr uint8_t kGotoFlag = IPT_F_GOTO;
  static constexpr uint8_t kInvertInInterface = IPT_INV_VIA_IN;
  static constexpr uint8_t kInvertOutInterface = IPT_INV_VIA_OUT;
  static constexpr uint8_t kInvertSource = IPT_INV_SRCIP;
  static constexpr uint8_t kInvertDestination = IPT_INV_DSTIP;
  static constexpr uint8_t kInvertProtocol = IPT_INV_PROTO;

  static constexpr NatTargetFormat kNatTargets[] = {
      {"DNAT", 2, NatLayout::kRange2},
      {"SNAT", 0, NatLayout::kIpv4MultiRangeCompat},
      {"MASQUERADE", 0, NatLayout::kIpv4MultiRangeCompat},
  };

  // For messages about a kernel without legacy x_tables.
  static constexpr const char* kToolName = "iptables";
  static constexpr const char* kModuleName = "ip_tables";
  static constexpr const char* kTablePrefix = "iptable_";

  static constexpr auto Init = iptc_init;
  static constexpr auto Free = iptc_free;
  static constexpr auto Commit = iptc_commit;
  static constexpr auto StrError = iptc_strerror;
  static constexpr auto IsChain = iptc_is_chain;
  static constexpr auto IsBuiltin = iptc_builtin;
  static constexpr auto FirstChain = iptc_first_chain;
  static constexpr auto NextChain = iptc_next_chain;
  static constexpr auto FirstRule = iptc_first_rule;
  static constexpr auto NextRule = iptc_next_rule;
  static constexpr auto GetTarget = iptc_get_target;
  static constexpr auto GetPolicy = iptc_get_policy;
  static constexpr auto CreateChain = iptc_create_chain;
  static constexpr auto DeleteChain = iptc_delete_chain;
  static constexpr auto FlushEntries = iptc_flush_entries;
  static constexpr auto SetPolicy = iptc_set_policy;
  static constexpr auto AppendEntry = iptc_append_entry;
  static constexpr auto InsertEntry = iptc_insert_entry;
  static constexpr auto ReplaceEntry = iptc_replace_entry;
  static constexpr auto DeleteEntry = iptc_delete_entry;
  static constexpr auto DeleteNumEntry = iptc_delete_num_entry;
};

struct Ipv6 {
  using Entry = ip6t_entry;
  using GetInfo = ip6t_getinfo;
  using GetEntries = ip6t_get_entries;
  using Replace = ip6t_replace;
  static constexpr int kSocketFamily = AF_INET6;
  static constexpr int kSocketLevel = IPPROTO_IPV6;
  static constexpr int kGetInfo = IP6T_SO_GET_INFO;
  static constexpr int kGetEntries = IP6T_SO_GET_ENTRIES;
  static constexpr int kSetReplace = IP6T_SO_SET_REPLACE;
  static constexpr int kAddCounters = IP6T_SO_SET_ADD_COUNTERS;
  static constexpr unsigned kAddressLength = 16;
  static auto& Header(Entry& entry) { return entry.ipv6; }
  static const auto& Header(const Entry& entry) { return entry.ipv6; }

  // ip6tables ignores `proto` unless this flag is set.
  static constexpr uint8_t kProtocolFlag = IP6T_F_PROTO;
  static constexpr uint8_t kGotoFlag = IP6T_F_GOTO;
  static constexpr uint8_t kInvertInInterface = IP6T_INV_VIA_IN;
  static constexpr uint8_t kInvertOutInterface = IP6T_INV_VIA_OUT;
  static constexpr uint8_t kInvertSource = IP6T_INV_SRCIP;
  static constexpr uint8_t kInvertDestination = IP6T_INV_DSTIP;
  static constexpr uint8_t kInvertProtocol = IP6T_INV_PROTO;

  static constexpr NatTargetFormat kNatTargets[] = {
      {"DNAT", 2, NatLayout::kRange2},
      {"SNAT", 1, NatLayout::kRange},
      {"MASQUERADE", 0, NatLayout::kRange},
  };

  static constexpr const char* kToolName = "ip6tables";
  static constexpr const char* kModuleName = "ip6_tables";
  static constexpr const char* kTablePrefix = "ip6table_";

  static constexpr auto Init = ip6tc_init;
  static constexpr auto Free = ip6tc_free;
  static constexpr auto Commit = ip6tc_commit;
  static constexpr auto StrError = ip6tc_strerror;
  static constexpr auto IsChain = ip6tc_is_chain;
  static constexpr auto IsBuiltin = ip6tc_builtin;
  static constexpr auto FirstChain = ip6tc_first_chain;
  static constexpr auto NextChain = ip6tc_next_chain;
  static constexpr auto FirstRule = ip6tc_first_rule;
  static constexpr auto NextRule = ip6tc_next_rule;
  static constexpr auto GetTarget = ip6tc_get_target;
  static constexpr auto GetPolicy = ip6tc_get_policy;
  static constexpr auto CreateChain = ip6tc_create_chain;
  static constexpr auto DeleteChain = ip6tc_delete_chain;
  static constexpr auto FlushEntries = ip6tc_flush_entries;
  static constexpr auto SetPolicy = ip6tc_set_policy;
  static constexpr auto AppendEntry = ip6tc_append_entry;
  static constexpr auto InsertEntry = ip6tc_insert_entry;
  static constexpr auto ReplaceEntry = ip6tc_replace_entry;
  static constexpr auto DeleteEntry = ip6tc_delete_entry;
  static constexpr auto DeleteNumEntry = ip6tc_delete_num_entry;
};

}  // namespace bridgewall::iptc
