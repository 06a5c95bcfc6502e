// The bounds ReadBatch enforces on what it copies from JavaScript. They are
// the kernel's own, and they keep every encoded message inside the room the
// batch writer reserves for it (kMessageHeadroom) and every nested attribute
// within its 16-bit length: libnftnl and libmnl write without bounds checks.
#pragma once

#include <linux/netfilter/nf_tables.h>

#include <cstddef>

namespace bridgewall {

// Table, chain, set, chain type and verdict chain names (NFT_NAME_MAXLEN counts the NUL).
constexpr size_t kMaxNameBytes = NFT_NAME_MAXLEN - 1;
// Comments as nft limits them (NFTNL_UDATA_COMMENT_MAXLEN counts the NUL), so they fit nft's userdata.
constexpr size_t kMaxCommentBytes = 127;
// Expressions per rule: the kernel refuses more (NFT_RULE_MAXEXPRS).
constexpr size_t kMaxExprs = 128;
// Data attributes, set keys and map values: one data value (libnftnl copies into buffers of this size).
constexpr size_t kMaxValueBytes = NFT_DATA_VALUE_MAXLEN;
// Fields of a concatenated set key: one per 32-bit register at most (the kernel's NFT_REG32_COUNT, libnftnl's bound).
constexpr size_t kMaxConcatFields = 16;

// An xt extension's name without its NUL (XT_EXTENSION_MAXNAMELEN counts it).
constexpr size_t kMaxXtNameBytes = 28;
// An xt match's or target's info: above the largest iptables writes for the
// rule model (sctp's, 296 bytes padded; comment's, 256).
constexpr size_t kMaxXtInfoBytes = 400;

// The largest expression encoded within these bounds: an xt match or target
// (name 36 bytes, revision 8, info 404) in its list element, name and data
// nests (20). (An immediate verdict naming a chain, the largest otherwise,
// takes 376.)
constexpr size_t kMaxExprBytes = 468;
// A rule's header, table, chain, handle, position, comment and list nest.
constexpr size_t kMaxRuleFrameBytes = 1024;
// Room reserved before encoding one message other than an element list.
constexpr size_t kMessageHeadroom = 1 << 16;
static_assert(kMaxExprs * kMaxExprBytes + kMaxRuleFrameBytes <= kMessageHeadroom,
              "the largest rule fits the room reserved for one message");
static_assert(kMaxExprs * kMaxExprBytes <= 0xFFFF, "the largest expression list fits one netlink attribute");

}  // namespace bridgewall
