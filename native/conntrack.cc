#include "conntrack.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "byte_reader.h"
#include "error.h"
#include "nft/socket.h"

namespace bridgewall {

namespace {

constexpr const char* kOperation = "conntrack.clear";

// Filter flags, as src/native/conntrack.ts packs them.
constexpr uint8_t kOrigDst = 1;           // the original destination address must be orig_dst
constexpr uint8_t kReplySrc = 2;          // the reply source (address and port) must be reply_src
constexpr uint8_t kReplySrcNegated = 4;   // ... must NOT be reply_src
constexpr uint8_t kDstTranslated = 8;     // the destination was translated: reply source != original destination
constexpr uint8_t kKnownFlags = kOrigDst | kReplySrc | kReplySrcNegated | kDstTranslated;

// Addresses are kept in 16 bytes, IPv4 ones zero-padded, so one comparison
// serves both families (a filter only ever meets entries of its own family).
struct Endpoint {
  uint8_t address[16] = {};
  uint16_t port = 0;

  bool operator==(const Endpoint& other) const {
    return port == other.port && std::memcmp(address, other.address, sizeof(address)) == 0;
  }
};

struct Filter {
  uint8_t family = 0;
  uint8_t proto = 0;
  uint16_t orig_dst_port = 0;
  uint8_t flags = 0;
  uint8_t orig_dst[16] = {};
  Endpoint reply_src;
};

auto KeyOf(uint8_t family, uint8_t proto, uint16_t port) { return std::make_tuple(family, proto, port); }
bool KeyLess(const Filter& a, const Filter& b) {
  return KeyOf(a.family, a.proto, a.orig_dst_port) < KeyOf(b.family, b.proto, b.orig_dst_port);
}

size_t AddressLength(uint8_t family) { return family == AF_INET ? 4 : 16; }

// Filters name port ranges and are expanded to one per port for the lookups:
// past this many ports in all, a buffer is refused rather than allocated
// (Docker's and our largest specs stay far below it).
constexpr size_t kMaxExpandedPorts = size_t{1} << 21;

void ReadAddress(ByteReader& in, uint8_t family, uint8_t* into, const char* what) {
  size_t length = AddressLength(family);
  std::memcpy(into, in.Take(length, what), length);
}

// The packed filters: u32 count, then per filter u8 family (AF_INET or
// AF_INET6), u8 protocol, u16 first and u16 last original destination port,
// u8 flags, the original destination address if kOrigDst, the reply source
// address and the u16 reply source port of the first destination port if
// kReplySrc (port first + i answers from reply port + i); little-endian,
// nothing after the last. Expanded to one filter per port and sorted by
// (family, protocol, port) for the lookups of AnyMatches.
std::vector<Filter> ReadFilters(const std::string& bytes) {
  ByteReader in(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<Filter> filters;
  size_t index = 0;
  try {
    uint32_t count = in.U32("the filter count");
    // Seven bytes is the smallest filter: a count past that is a lie, not a reservation to make.
    if (count > in.remaining() / 7) throw MalformedBytes("a count of " + std::to_string(count) + " in " + std::to_string(in.remaining()) + " bytes");
    filters.reserve(count);
    for (; index < count; index++) {
      Filter filter;
      filter.family = in.U8("the family");
      if (filter.family != AF_INET && filter.family != AF_INET6) throw MalformedBytes("family " + std::to_string(filter.family) + " is not AF_INET or AF_INET6");
      filter.proto = in.U8("the protocol");
      uint16_t first = in.U16("the first original destination port");
      uint16_t last = in.U16("the last original destination port");
      if (last < first) throw MalformedBytes("the port range " + std::to_string(first) + "-" + std::to_string(last) + " is empty");
      filter.flags = in.U8("the flags");
      if ((filter.flags & ~kKnownFlags) != 0) throw MalformedBytes("unknown flags " + std::to_string(filter.flags));
      if ((filter.flags & kReplySrcNegated) != 0 && (filter.flags & kReplySrc) == 0) throw MalformedBytes("a negated reply source without one");
      if ((filter.flags & kOrigDst) != 0) ReadAddress(in, filter.family, filter.orig_dst, "the original destination");
      if ((filter.flags & kReplySrc) != 0) {
        ReadAddress(in, filter.family, filter.reply_src.address, "the reply source");
        filter.reply_src.port = in.U16("the reply source port");
        if (filter.reply_src.port + (last - first) > 0xffff) throw MalformedBytes("the reply source ports run past 65535");
      }
      if (filters.size() + (last - first) >= kMaxExpandedPorts) {
        throw MalformedBytes("more than " + std::to_string(kMaxExpandedPorts) + " ports in all");
      }
      uint16_t reply_first = filter.reply_src.port;
      for (uint32_t port = first; port <= last; port++) {
        filter.orig_dst_port = static_cast<uint16_t>(port);
        filter.reply_src.port = static_cast<uint16_t>(reply_first + (port - first));
        filters.push_back(filter);
      }
    }
  } catch (const MalformedBytes& error) {
    Fail(EINVAL, kOperation, "filters[" + std::to_string(index) + "]: " + error.what());
  }
  if (in.remaining() != 0) Fail(EINVAL, kOperation, "filters: " + std::to_string(in.remaining()) + " bytes after the last filter");
  std::sort(filters.begin(), filters.end(), KeyLess);
  return filters;
}

// One direction of an entry, as the kernel reported it.
struct Tuple {
  uint8_t proto = 0;
  Endpoint src;
  Endpoint dst;
  // Set as each part is found: entries without ports (ICMP, ...) never match.
  bool has_src = false, has_dst = false, has_proto = false, has_src_port = false, has_dst_port = false;

  bool complete() const { return has_src && has_dst && has_proto && has_src_port && has_dst_port; }
};

// The attributes of a nest, or of a message after its headers: each checked
// by mnl_attr_ok against the end of what holds it before it is read.
template <typename Visit>
void ForEachAttribute(const void* start, const void* end, Visit visit) {
  const char* tail = static_cast<const char*>(end);
  for (auto* attr = static_cast<const nlattr*>(start);
       mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr))); attr = mnl_attr_next(attr)) {
    visit(attr);
  }
}

// Where a message ends by its own length (its aligned tail may lie past what was received).
const char* MessageEnd(const nlmsghdr* nlh) { return reinterpret_cast<const char*>(nlh) + nlh->nlmsg_len; }

template <typename Visit>
void ForEachNested(const nlattr* nest, Visit visit) {
  ForEachAttribute(mnl_attr_get_payload(nest), reinterpret_cast<const char*>(nest) + nest->nla_len, visit);
}

// Every attribute is checked for the exact length of its type; the libmnl
// iterators check each attribute against the end of its nest or message.
void ParseTupleIp(const nlattr* nest, uint8_t family, Tuple& tuple) {
  const bool ipv4 = family == AF_INET;
  const uint16_t src_type = ipv4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
  const uint16_t dst_type = ipv4 ? CTA_IP_V4_DST : CTA_IP_V6_DST;
  const size_t length = AddressLength(family);
  ForEachNested(nest, [&](const nlattr* attr) {
    uint16_t type = mnl_attr_get_type(attr);
    if (mnl_attr_get_payload_len(attr) != length || (type != src_type && type != dst_type)) return;
    Endpoint& endpoint = type == src_type ? tuple.src : tuple.dst;
    std::memcpy(endpoint.address, mnl_attr_get_payload(attr), length);
    (type == src_type ? tuple.has_src : tuple.has_dst) = true;
  });
}

void ParseTupleProto(const nlattr* nest, Tuple& tuple) {
  ForEachNested(nest, [&](const nlattr* attr) {
    uint16_t type = mnl_attr_get_type(attr);
    uint16_t length = mnl_attr_get_payload_len(attr);
    if (type == CTA_PROTO_NUM && length == 1) {
      tuple.proto = mnl_attr_get_u8(attr);
      tuple.has_proto = true;
    } else if ((type == CTA_PROTO_SRC_PORT || type == CTA_PROTO_DST_PORT) && length == 2) {
      uint16_t port = ntohs(mnl_attr_get_u16(attr));
      if (type == CTA_PROTO_SRC_PORT) {
        tuple.src.port = port;
        tuple.has_src_port = true;
      } else {
        tuple.dst.port = port;
        tuple.has_dst_port = true;
      }
    }
  });
}

Tuple ParseTuple(const nlattr* nest, uint8_t family) {
  Tuple tuple;
  ForEachNested(nest, [&](const nlattr* attr) {
    uint16_t type = mnl_attr_get_type(attr);
    if (type == CTA_TUPLE_IP) ParseTupleIp(attr, family, tuple);
    else if (type == CTA_TUPLE_PROTO) ParseTupleProto(attr, tuple);
  });
  return tuple;
}

bool Matches(const Filter& filter, const Tuple& orig, const Tuple& reply) {
  if ((filter.flags & kOrigDst) != 0 && std::memcmp(filter.orig_dst, orig.dst.address, sizeof(filter.orig_dst)) != 0) return false;
  if ((filter.flags & kReplySrc) != 0 && (reply.src == filter.reply_src) == ((filter.flags & kReplySrcNegated) != 0)) return false;
  if ((filter.flags & kDstTranslated) != 0 && reply.src == orig.dst) return false;
  return true;
}

bool AnyMatches(const std::vector<Filter>& filters, uint8_t family, const Tuple& orig, const Tuple& reply) {
  Filter key;
  key.family = family;
  key.proto = orig.proto;
  key.orig_dst_port = orig.dst.port;
  auto [first, last] = std::equal_range(filters.begin(), filters.end(), key, KeyLess);
  for (auto it = first; it != last; ++it) {
    if (Matches(*it, orig, reply)) return true;
  }
  return false;
}

// What identifies an entry to IPCTNL_MSG_CT_DELETE, copied as the kernel
// sent it: the original tuple, the zone, and the id, with which the kernel
// refuses to delete a newer entry that took the same tuple meanwhile.
struct EntryKey {
  const nlattr* orig = nullptr;
  const nlattr* reply = nullptr;
  const nlattr* zone = nullptr;
  const nlattr* id = nullptr;
};

void AppendDelete(std::vector<char>& out, uint8_t family, const EntryKey& key) {
  size_t length = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));
  for (const nlattr* attr : {key.orig, key.zone, key.id}) {
    if (attr != nullptr) length += MNL_ALIGN(attr->nla_len);
  }
  size_t start = out.size();
  out.resize(start + length);
  nlmsghdr* nlh = mnl_nlmsg_put_header(out.data() + start);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* header = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  header->nfgen_family = family;
  header->version = NFNETLINK_V0;
  header->res_id = 0;
  for (const nlattr* attr : {key.orig, key.zone, key.id}) {
    if (attr == nullptr) continue;
    std::memcpy(mnl_nlmsg_get_payload_tail(nlh), attr, attr->nla_len);
    nlh->nlmsg_len += MNL_ALIGN(attr->nla_len);
  }
}

constexpr size_t kRequestBytes = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(nfgenmsg));

// A ctnetlink request without attributes.
nlmsghdr* PutRequest(char* buffer, NetlinkSocket& socket, uint8_t message, uint16_t flags, uint8_t family) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | message;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  nlh->nlmsg_seq = socket.NextSeq();
  auto* header = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  header->nfgen_family = family;
  header->version = NFNETLINK_V0;
  header->res_id = 0;
  return nlh;
}

// How many entries the namespace's table holds (IPCTNL_MSG_CT_GET_STATS: the
// namespace's own count). A dump walks the kernel's hash table, which all
// namespaces share (nf_conntrack_buckets), whatever this one holds: with no
// entry here, it is skipped.
uint32_t CountEntries(NetlinkSocket& socket) {
  char request[kRequestBytes];
  nlmsghdr* nlh = PutRequest(request, socket, IPCTNL_MSG_CT_GET_STATS, NLM_F_ACK, AF_UNSPEC);
  // Unknown until the kernel says: a reply without the count means a dump.
  uint32_t count = UINT32_MAX;
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        if (reply->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS)) return;
        if (reply->nlmsg_len < kRequestBytes) return;
        ForEachAttribute(mnl_nlmsg_get_payload_offset(reply, sizeof(nfgenmsg)), MessageEnd(reply),
                         [&](const nlattr* attr) {
                           if (mnl_attr_get_type(attr) == CTA_STATS_GLOBAL_ENTRIES && mnl_attr_get_payload_len(attr) == 4) {
                             count = ntohl(mnl_attr_get_u32(attr));
                           }
                         });
      },
      "conntrack.dump");
  return count;
}

// Dumps the table of `family` (AF_UNSPEC: both, in one walk of the hash
// table) and appends a delete message for each entry a filter matches.
void CollectMatching(NetlinkSocket& socket, uint8_t family, const std::vector<Filter>& filters,
                     std::vector<char>& deletes, size_t& delete_count) {
  char request[kRequestBytes];
  nlmsghdr* nlh = PutRequest(request, socket, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family);
  socket.Request(
      nlh,
      [&](const nlmsghdr* reply) {
        if (reply->nlmsg_type != ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW)) return;
        if (reply->nlmsg_len < kRequestBytes) return;
        auto* entry_header = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(reply));
        const uint8_t entry_family = entry_header->nfgen_family;
        if (entry_family != AF_INET && entry_family != AF_INET6) return;
        if (family != AF_UNSPEC && entry_family != family) return;
        EntryKey key;
        ForEachAttribute(mnl_nlmsg_get_payload_offset(reply, sizeof(nfgenmsg)), MessageEnd(reply),
                         [&](const nlattr* attr) {
                           switch (mnl_attr_get_type(attr)) {
                             case CTA_TUPLE_ORIG: key.orig = attr; break;
                             case CTA_TUPLE_REPLY: key.reply = attr; break;
                             case CTA_ZONE: if (mnl_attr_get_payload_len(attr) == 2) key.zone = attr; break;
                             case CTA_ID: if (mnl_attr_get_payload_len(attr) == 4) key.id = attr; break;
                             default: break;
                           }
                         });
        if (key.orig == nullptr || key.reply == nullptr) return;
        Tuple orig = ParseTuple(key.orig, entry_family);
        Tuple reply_tuple = ParseTuple(key.reply, entry_family);
        if (!orig.complete() || !reply_tuple.complete()) return;
        if (!AnyMatches(filters, entry_family, orig, reply_tuple)) return;
        AppendDelete(deletes, entry_family, key);
        delete_count++;
      },
      "conntrack.dump");
}

// Sends the deletes in chunks (one sendmsg each, every message acked) and
// counts the entries deleted; one already gone (ENOENT) is not counted.
uint32_t SendDeletes(NetlinkSocket& socket, std::vector<char>& deletes) {
  constexpr size_t kChunkBytes = 1 << 16;
  uint32_t deleted = 0;
  int first_error = 0;
  size_t offset = 0;
  std::vector<char> chunk;
  while (offset < deletes.size()) {
    chunk.clear();
    size_t messages = 0;
    while (offset < deletes.size() && (chunk.empty() || chunk.size() < kChunkBytes)) {
      auto* nlh = reinterpret_cast<nlmsghdr*>(deletes.data() + offset);
      nlh->nlmsg_seq = socket.NextSeq();
      chunk.insert(chunk.end(), deletes.data() + offset, deletes.data() + offset + nlh->nlmsg_len);
      offset += nlh->nlmsg_len;
      messages++;
    }
    for (const Ack& ack : socket.SendBatch(chunk, messages, "conntrack.delete")) {
      if (ack.errnum == 0) deleted++;
      else if (ack.errnum != ENOENT && first_error == 0) first_error = ack.errnum;
    }
  }
  if (first_error != 0) Fail(first_error, "conntrack.delete", "the kernel refused to delete a connection tracking entry");
  return deleted;
}

}  // namespace

uint32_t ClearConntrack(NetlinkSocket& socket, const std::string& packed) {
  std::vector<Filter> filters = ReadFilters(packed);
  if (filters.empty()) return 0;
  if (CountEntries(socket) == 0) return 0;
  // Filters are sorted by family: the first and the last say whether both are named.
  uint8_t family = filters.front().family == filters.back().family ? filters.front().family : AF_UNSPEC;
  std::vector<char> deletes;
  size_t delete_count = 0;
  CollectMatching(socket, family, filters, deletes, delete_count);
  return delete_count == 0 ? 0 : SendDeletes(socket, deletes);
}

}  // namespace bridgewall
