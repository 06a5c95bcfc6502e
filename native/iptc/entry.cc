#include "iptc/entry.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_addrtype.h>
#include <linux/netfilter/xt_comment.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <net/if.h>

// The inline helpers of xt_sctp.h are C and spell the boolean type _Bool.
#define _Bool bool
#include <linux/netfilter/xt_sctp.h>
#undef _Bool

#include <algorithm>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace bridgewall::iptc {

namespace {

// Revisions iptables 1.8.9 writes for the matches this library models. The
// kernel would accept others, but iptables-save would then print
// "[unsupported revision]" for rules it did not write itself.
constexpr uint8_t kTcpRevision = 0;
constexpr uint8_t kUdpRevision = 0;
constexpr uint8_t kSctpRevision = 0;
constexpr uint8_t kAddrtypeRevision = 1;
constexpr uint8_t kConntrackRevision = 3;
constexpr uint8_t kMarkRevision = 1;
constexpr uint8_t kCommentRevision = 0;

constexpr PortRange kAllPorts{0, 0xFFFF};

// ---------------------------------------------------------------------------
// Encoding

// Appends the parts of an entry in order, keeping the offsets the kernel needs.
// Works on offsets rather than pointers because the buffer grows.
template <typename Family>
class EntryBuilder {
 public:
  using Entry = typename Family::Entry;

  EntryBuilder() : bytes_(XT_ALIGN(sizeof(Entry))) {}

  Entry& entry() { return *reinterpret_cast<Entry*>(bytes_.data()); }

  template <typename Info>
  void AddMatch(const char* name, uint8_t revision, const Info& info) {
    AddExtension<xt_entry_match>(name, revision, &info, sizeof(info));
  }

  template <typename Info>
  void SetTarget(const char* name, uint8_t revision, const Info& info) {
    entry().target_offset = static_cast<uint16_t>(bytes_.size());
    AddExtension<xt_entry_target>(name, revision, &info, sizeof(info));
  }

  std::vector<uint8_t> Finish() {
    entry().next_offset = static_cast<uint16_t>(bytes_.size());
    return std::move(bytes_);
  }

 private:
  // xt_entry_match and xt_entry_target share one header layout: size, name, revision.
  template <typename Header>
  void AddExtension(const char* name, uint8_t revision, const void* info, size_t info_size) {
    size_t offset = bytes_.size();
    size_t size = XT_ALIGN(sizeof(Header)) + XT_ALIGN(info_size);
    bytes_.resize(offset + size);
    auto* header = reinterpret_cast<Header*>(bytes_.data() + offset);
    header->u.user.revision = revision;
    std::strncpy(header->u.user.name, name, sizeof(header->u.user.name) - 1);
    // Sizes fit: the largest extension here (comment) is 256 bytes.
    if constexpr (std::is_same_v<Header, xt_entry_match>) {
      header->u.user.match_size = static_cast<uint16_t>(size);
    } else {
      header->u.user.target_size = static_cast<uint16_t>(size);
    }
    std::memcpy(bytes_.data() + offset + XT_ALIGN(sizeof(Header)), info, info_size);
  }

  std::vector<uint8_t> bytes_;
};

// Collects the matches and the target as nft_compat carries them: name,
// revision and the info padded as iptables-nft sends it (the extension's size
// less its header), so both encoders share every byte of every info.
class ExtensionCollector {
 public:
  template <typename Info>
  void AddMatch(const char* name, uint8_t revision, const Info& info) {
    extensions_.matches.push_back(Extension(name, revision, info));
  }

  template <typename Info>
  void SetTarget(const char* name, uint8_t revision, const Info& info) {
    extensions_.target = Extension(name, revision, info);
  }

  XtExtensions Finish() { return std::move(extensions_); }

 private:
  template <typename Info>
  static XtExtension Extension(const char* name, uint8_t revision, const Info& info) {
    XtExtension extension{name, revision, std::vector<uint8_t>(XT_ALIGN(sizeof(info)))};
    std::memcpy(extension.info.data(), &info, sizeof(info));
    return extension;
  }

  XtExtensions extensions_;
};

// As xtables_parse_interface: the mask covers the name and its NUL, or, for a
// "prefix+" wildcard, only the prefix.
void EncodeInterface(const InterfaceMatch& match, char (&name)[IFNAMSIZ], unsigned char (&mask)[IFNAMSIZ]) {
  std::strncpy(name, match.name.c_str(), IFNAMSIZ - 1);
  bool wildcard = !match.name.empty() && match.name.back() == '+';
  size_t masked = wildcard ? match.name.size() - 1 : match.name.size() + 1;
  std::memset(mask, 0xFF, std::min<size_t>(masked, IFNAMSIZ));
}

template <typename Family, typename Header>
void EncodeHeader(const Rule& rule, Header& header) {
  if (rule.source) {
    std::memcpy(&header.src, rule.source->address.data(), Family::kAddressLength);
    std::memcpy(&header.smsk, rule.source->mask.data(), Family::kAddressLength);
    if (rule.source->negated) header.invflags |= Family::kInvertSource;
  }
  if (rule.destination) {
    std::memcpy(&header.dst, rule.destination->address.data(), Family::kAddressLength);
    std::memcpy(&header.dmsk, rule.destination->mask.data(), Family::kAddressLength);
    if (rule.destination->negated) header.invflags |= Family::kInvertDestination;
  }
  if (rule.in_interface) {
    EncodeInterface(*rule.in_interface, header.iniface, header.iniface_mask);
    if (rule.in_interface->negated) header.invflags |= Family::kInvertInInterface;
  }
  if (rule.out_interface) {
    EncodeInterface(*rule.out_interface, header.outiface, header.outiface_mask);
    if (rule.out_interface->negated) header.invflags |= Family::kInvertOutInterface;
  }
  if (rule.protocol) {
    header.proto = rule.protocol->number;
    header.flags |= Family::kProtocolFlag;
    if (rule.protocol->negated) header.invflags |= Family::kInvertProtocol;
  }
}

template <typename Info>
void EncodePortPair(const PortMatch& match, Info& info, uint8_t source_invert, uint8_t destination_invert) {
  PortRange source = match.source.value_or(kAllPorts);
  PortRange destination = match.destination.value_or(kAllPorts);
  info.spts[0] = source.first;
  info.spts[1] = source.last;
  info.dpts[0] = destination.first;
  info.dpts[1] = destination.last;
  if (match.source_negated) info.invflags |= source_invert;
  if (match.destination_negated) info.invflags |= destination_invert;
}

template <typename Builder>
struct MatchEncoder {
  Builder& builder;

  void operator()(const PortMatch& match) const {
    switch (match.protocol) {
      case PortProtocol::kTcp: {
        xt_tcp info{};
        EncodePortPair(match, info, XT_TCP_INV_SRCPT, XT_TCP_INV_DSTPT);
        builder.AddMatch("tcp", kTcpRevision, info);
        break;
      }
      case PortProtocol::kUdp: {
        xt_udp info{};
        EncodePortPair(match, info, XT_UDP_INV_SRCPT, XT_UDP_INV_DSTPT);
        builder.AddMatch("udp", kUdpRevision, info);
        break;
      }
      case PortProtocol::kSctp:
        builder.AddMatch("sctp", kSctpRevision, EncodeSctp(match));
        break;
    }
  }

  // Unlike tcp and udp, sctp flags which port ranges are set and leaves the
  // others zero; its unused chunk-flag slots hold chunk type 0xFF.
  static xt_sctp_info EncodeSctp(const PortMatch& match) {
    xt_sctp_info info{};
    for (auto& flag : info.flag_info) flag.chunktype = 0xFF;
    if (match.source) {
      info.spts[0] = match.source->first;
      info.spts[1] = match.source->last;
      info.flags |= XT_SCTP_SRC_PORTS;
      if (match.source_negated) info.invflags |= XT_SCTP_SRC_PORTS;
    }
    if (match.destination) {
      info.dpts[0] = match.destination->first;
      info.dpts[1] = match.destination->last;
      info.flags |= XT_SCTP_DEST_PORTS;
      if (match.destination_negated) info.invflags |= XT_SCTP_DEST_PORTS;
    }
    return info;
  }

  void operator()(const AddrtypeMatch& match) const {
    xt_addrtype_info_v1 info{};
    info.source = match.source_types;
    info.dest = match.destination_types;
    if (match.source_negated) info.flags |= XT_ADDRTYPE_INVERT_SOURCE;
    if (match.destination_negated) info.flags |= XT_ADDRTYPE_INVERT_DEST;
    builder.AddMatch("addrtype", kAddrtypeRevision, info);
  }

  void operator()(const ConntrackMatch& match) const {
    xt_conntrack_mtinfo3 info{};
    info.match_flags = XT_CONNTRACK_STATE;
    info.state_mask = match.states;
    if (match.negated) info.invert_flags = XT_CONNTRACK_STATE;
    builder.AddMatch("conntrack", kConntrackRevision, info);
  }

  void operator()(const MarkMatch& match) const {
    xt_mark_mtinfo1 info{};
    info.mark = match.mark;
    info.mask = match.mask;
    info.invert = match.negated ? 1 : 0;
    builder.AddMatch("mark", kMarkRevision, info);
  }

  void operator()(const CommentMatch& match) const {
    xt_comment_info info{};
    std::strncpy(info.comment, match.comment.c_str(), sizeof(info.comment) - 1);
    builder.AddMatch("comment", kCommentRevision, info);
  }

  void operator()(const UnsupportedMatch&) const {
    // Decoding produces these; the JavaScript layer never sends one back.
  }
};

template <typename Family>
const NatTargetFormat* FindNatFormat(std::string_view name) {
  for (const auto& format : Family::kNatTargets) {
    if (name == format.name) return &format;
  }
  return nullptr;
}

template <typename Family>
const NatTargetFormat* FindNatFormat(std::string_view name, uint8_t revision) {
  const NatTargetFormat* format = FindNatFormat<Family>(name);
  return format != nullptr && format->revision == revision ? format : nullptr;
}

nf_nat_range2 NatRange(const std::optional<Address>& address, const std::optional<PortRange>& ports) {
  nf_nat_range2 range{};
  if (address) {
    range.flags |= NF_NAT_RANGE_MAP_IPS;
    std::memcpy(&range.min_addr, address->data(), sizeof(range.min_addr));
    range.max_addr = range.min_addr;
  }
  if (ports) {
    range.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    range.min_proto.all = htons(ports->first);
    range.max_proto.all = htons(ports->last);
  }
  return range;
}

template <typename Family, typename Builder>
void SetNatTarget(Builder& builder, const char* name, const nf_nat_range2& range) {
  const NatTargetFormat& format = *FindNatFormat<Family>(name);
  switch (format.layout) {
    case NatLayout::kIpv4MultiRangeCompat: {
      nf_nat_ipv4_multi_range_compat compat{};
      compat.rangesize = 1;
      compat.range[0].flags = range.flags;
      compat.range[0].min_ip = range.min_addr.ip;
      compat.range[0].max_ip = range.max_addr.ip;
      compat.range[0].min = range.min_proto;
      compat.range[0].max = range.max_proto;
      builder.SetTarget(name, format.revision, compat);
      break;
    }
    case NatLayout::kRange: {
      // nf_nat_range is nf_nat_range2 without its last field.
      nf_nat_range v1{};
      std::memcpy(&v1, &range, sizeof(v1));
      builder.SetTarget(name, format.revision, v1);
      break;
    }
    case NatLayout::kRange2:
      builder.SetTarget(name, format.revision, range);
      break;
  }
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAccept: return "ACCEPT";
    case Verdict::kDrop: return "DROP";
    case Verdict::kReturn: return "RETURN";
  }
  return "";
}

template <typename Family, typename Builder>
void EncodeNatTarget(Builder& builder, const NatTarget& target) {
  const char* name = target.kind == NatKind::kDestination ? "DNAT" : "SNAT";
  SetNatTarget<Family>(builder, name, NatRange(target.address, target.ports));
}

template <typename Family, typename Builder>
void EncodeMasqueradeTarget(Builder& builder, const MasqueradeTarget& target) {
  SetNatTarget<Family>(builder, "MASQUERADE", NatRange(std::nullopt, target.ports));
}

template <typename Family>
struct TargetEncoder {
  EntryBuilder<Family>& builder;

  // libiptc turns the name of a verdict or chain into the verdict or jump offset.
  void operator()(const VerdictTarget& target) const {
    builder.SetTarget(VerdictName(target.verdict), 0, int{0});
  }

  void operator()(const JumpTarget& target) const {
    if (target.go_to) Family::Header(builder.entry()).flags |= Family::kGotoFlag;
    builder.SetTarget(target.chain.c_str(), 0, int{0});
  }

  void operator()(const NatTarget& target) const { EncodeNatTarget<Family>(builder, target); }

  void operator()(const MasqueradeTarget& target) const { EncodeMasqueradeTarget<Family>(builder, target); }

  void operator()(const UnsupportedTarget&) const {
    // Decoding produces these; the JavaScript layer never sends one back.
  }
};

// ---------------------------------------------------------------------------
// Decoding

// Views one match or the target of an entry: its name, revision and payload.
template <typename Header>
struct ExtensionView {
  const Header& header;
  size_t size;

  std::string_view name() const { return header.u.user.name; }
  uint8_t revision() const { return header.u.user.revision; }

  // The payload as `Info`, or nullptr when its size says it is something else.
  template <typename Info>
  const Info* As() const {
    if (size != XT_ALIGN(sizeof(Header)) + XT_ALIGN(sizeof(Info))) return nullptr;
    return reinterpret_cast<const Info*>(reinterpret_cast<const uint8_t*>(&header) + XT_ALIGN(sizeof(Header)));
  }
};

std::optional<PortRange> DecodePorts(const uint16_t (&ports)[2], bool negated) {
  PortRange range{ports[0], ports[1]};
  if (!negated && range.first == kAllPorts.first && range.last == kAllPorts.last) return std::nullopt;
  return range;
}

template <typename Info>
std::optional<Match> DecodePortPair(const Info* info, PortProtocol protocol, uint8_t source_invert,
                                    uint8_t destination_invert) {
  if (info == nullptr || (info->invflags & ~(source_invert | destination_invert)) != 0) return std::nullopt;
  PortMatch match;
  match.protocol = protocol;
  match.source_negated = (info->invflags & source_invert) != 0;
  match.source = DecodePorts(info->spts, match.source_negated);
  match.destination_negated = (info->invflags & destination_invert) != 0;
  match.destination = DecodePorts(info->dpts, match.destination_negated);
  return match;
}

std::optional<Match> DecodeTcp(const ExtensionView<xt_entry_match>& view) {
  const auto* info = view.As<xt_tcp>();
  if (info == nullptr || info->option != 0 || info->flg_mask != 0) return std::nullopt;
  return DecodePortPair(info, PortProtocol::kTcp, XT_TCP_INV_SRCPT, XT_TCP_INV_DSTPT);
}

std::optional<Match> DecodeUdp(const ExtensionView<xt_entry_match>& view) {
  return DecodePortPair(view.As<xt_udp>(), PortProtocol::kUdp, XT_UDP_INV_SRCPT, XT_UDP_INV_DSTPT);
}

std::optional<Match> DecodeSctp(const ExtensionView<xt_entry_match>& view) {
  const auto* info = view.As<xt_sctp_info>();
  if (info == nullptr || (info->flags & XT_SCTP_CHUNK_TYPES) != 0) return std::nullopt;
  PortMatch match;
  match.protocol = PortProtocol::kSctp;
  if (info->flags & XT_SCTP_SRC_PORTS) {
    match.source = PortRange{info->spts[0], info->spts[1]};
    match.source_negated = (info->invflags & XT_SCTP_SRC_PORTS) != 0;
  }
  if (info->flags & XT_SCTP_DEST_PORTS) {
    match.destination = PortRange{info->dpts[0], info->dpts[1]};
    match.destination_negated = (info->invflags & XT_SCTP_DEST_PORTS) != 0;
  }
  return match;
}

std::optional<Match> DecodeAddrtype(const ExtensionView<xt_entry_match>& view) {
  const auto* info = view.As<xt_addrtype_info_v1>();
  constexpr uint32_t kModelled = XT_ADDRTYPE_INVERT_SOURCE | XT_ADDRTYPE_INVERT_DEST;
  if (info == nullptr || (info->flags & ~kModelled) != 0) return std::nullopt;
  return AddrtypeMatch{info->source, (info->flags & XT_ADDRTYPE_INVERT_SOURCE) != 0, info->dest,
                       (info->flags & XT_ADDRTYPE_INVERT_DEST) != 0};
}

std::optional<Match> DecodeConntrack(const ExtensionView<xt_entry_match>& view) {
  const auto* info = view.As<xt_conntrack_mtinfo3>();
  if (info == nullptr || info->match_flags != XT_CONNTRACK_STATE) return std::nullopt;
  return ConntrackMatch{info->state_mask, (info->invert_flags & XT_CONNTRACK_STATE) != 0};
}

std::optional<Match> DecodeMark(const ExtensionView<xt_entry_match>& view) {
  const auto* info = view.As<xt_mark_mtinfo1>();
  if (info == nullptr) return std::nullopt;
  return MarkMatch{info->mark, info->mask, info->invert != 0};
}

std::optional<Match> DecodeComment(const ExtensionView<xt_entry_match>& view) {
  const auto* info = view.As<xt_comment_info>();
  if (info == nullptr) return std::nullopt;
  // iptables always ends the comment with a NUL; one filling all 256 bytes is no comment it would write.
  size_t length = strnlen(info->comment, sizeof(info->comment));
  if (length == sizeof(info->comment)) return std::nullopt;
  return CommentMatch{std::string(info->comment, length)};
}

struct MatchDecoder {
  const char* name;
  uint8_t revision;
  std::optional<Match> (*decode)(const ExtensionView<xt_entry_match>&);
};

constexpr MatchDecoder kMatchDecoders[] = {
    {"tcp", kTcpRevision, DecodeTcp},
    {"udp", kUdpRevision, DecodeUdp},
    {"sctp", kSctpRevision, DecodeSctp},
    {"addrtype", kAddrtypeRevision, DecodeAddrtype},
    {"conntrack", kConntrackRevision, DecodeConntrack},
    {"mark", kMarkRevision, DecodeMark},
    {"comment", kCommentRevision, DecodeComment},
};

Match DecodeMatch(const ExtensionView<xt_entry_match>& view) {
  for (const auto& decoder : kMatchDecoders) {
    if (view.name() != decoder.name || view.revision() != decoder.revision) continue;
    if (auto match = decoder.decode(view)) return *match;
  }
  return UnsupportedMatch{std::string(view.name()), view.revision()};
}

// The NAT range in any of its layouts, widened to nf_nat_range2.
std::optional<nf_nat_range2> ReadNatRange(const ExtensionView<xt_entry_target>& view, NatLayout layout) {
  nf_nat_range2 range{};
  switch (layout) {
    case NatLayout::kIpv4MultiRangeCompat: {
      const auto* compat = view.As<nf_nat_ipv4_multi_range_compat>();
      if (compat == nullptr || compat->rangesize != 1) return std::nullopt;
      range.flags = compat->range[0].flags;
      range.min_addr.ip = compat->range[0].min_ip;
      range.max_addr.ip = compat->range[0].max_ip;
      range.min_proto = compat->range[0].min;
      range.max_proto = compat->range[0].max;
      return range;
    }
    case NatLayout::kRange: {
      const auto* v1 = view.As<nf_nat_range>();
      if (v1 == nullptr) return std::nullopt;
      std::memcpy(&range, v1, sizeof(*v1));
      return range;
    }
    case NatLayout::kRange2: {
      const auto* v2 = view.As<nf_nat_range2>();
      if (v2 == nullptr) return std::nullopt;
      return *v2;
    }
  }
  return std::nullopt;
}

template <typename Family>
std::optional<Target> DecodeNatTarget(const ExtensionView<xt_entry_target>& view) {
  const NatTargetFormat* format = FindNatFormat<Family>(view.name(), view.revision());
  if (format == nullptr) return std::nullopt;
  std::optional<nf_nat_range2> range = ReadNatRange(view, format->layout);
  // Address ranges, --random and --persistent are not modelled.
  if (!range || (range->flags & ~(NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED)) != 0 ||
      std::memcmp(&range->min_addr, &range->max_addr, sizeof(range->min_addr)) != 0) {
    return std::nullopt;
  }
  std::optional<PortRange> ports;
  if (range->flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
    ports = PortRange{ntohs(range->min_proto.all), ntohs(range->max_proto.all)};
  }
  bool masquerade = view.name() == "MASQUERADE";
  if (masquerade) {
    if (range->flags & NF_NAT_RANGE_MAP_IPS) return std::nullopt;
    return MasqueradeTarget{ports};
  }
  std::optional<Address> address;
  if (range->flags & NF_NAT_RANGE_MAP_IPS) {
    address.emplace();
    std::memcpy(address->data(), &range->min_addr, address->size());
  }
  return NatTarget{view.name() == "DNAT" ? NatKind::kDestination : NatKind::kSource, address, ports};
}

template <typename Family>
Target DecodeTarget(const typename Family::Entry& entry, const char* target_name) {
  std::string_view name = target_name;
  if (name == "ACCEPT") return VerdictTarget{Verdict::kAccept};
  if (name == "DROP") return VerdictTarget{Verdict::kDrop};
  if (name == "RETURN") return VerdictTarget{Verdict::kReturn};

  const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
  const auto& header = *reinterpret_cast<const xt_entry_target*>(bytes + entry.target_offset);
  ExtensionView<xt_entry_target> view{header, header.u.target_size};
  // A standard target that is no verdict is a jump; libiptc named its chain.
  if (view.name() == XT_STANDARD_TARGET && !name.empty() && name != "QUEUE") {
    return JumpTarget{std::string(name), (Family::Header(entry).flags & Family::kGotoFlag) != 0};
  }
  if (auto nat = DecodeNatTarget<Family>(view)) return *nat;
  return UnsupportedTarget{std::string(name), view.revision()};
}

std::optional<InterfaceMatch> DecodeInterface(const char (&name)[IFNAMSIZ], bool negated) {
  if (name[0] == '\0' && !negated) return std::nullopt;
  return InterfaceMatch{std::string(name, strnlen(name, IFNAMSIZ)), negated};
}

template <typename Family, typename In>
std::optional<AddressMatch> DecodeAddress(const In& address, const In& mask, bool negated) {
  AddressMatch match;
  std::memcpy(match.address.data(), &address, Family::kAddressLength);
  std::memcpy(match.mask.data(), &mask, Family::kAddressLength);
  match.negated = negated;
  bool any = std::all_of(match.mask.begin(), match.mask.end(), [](uint8_t byte) { return byte == 0; });
  if (any && !negated) return std::nullopt;
  return match;
}

}  // namespace

template <typename Family>
std::vector<uint8_t> EncodeEntry(const Rule& rule) {
  EntryBuilder<Family> builder;
  EncodeHeader<Family>(rule, Family::Header(builder.entry()));
  for (const Match& match : rule.matches) std::visit(MatchEncoder<EntryBuilder<Family>>{builder}, match);
  std::visit(TargetEncoder<Family>{builder}, rule.target);
  return builder.Finish();
}

template <typename Family>
XtExtensions EncodeXtExtensions(const Rule& rule) {
  ExtensionCollector collector;
  for (const Match& match : rule.matches) std::visit(MatchEncoder<ExtensionCollector>{collector}, match);
  if (const auto* nat = std::get_if<NatTarget>(&rule.target)) EncodeNatTarget<Family>(collector, *nat);
  if (const auto* masquerade = std::get_if<MasqueradeTarget>(&rule.target)) {
    EncodeMasqueradeTarget<Family>(collector, *masquerade);
  }
  return collector.Finish();
}

template <typename Family>
Rule DecodeEntry(const typename Family::Entry& entry, const char* target_name) {
  const auto& header = Family::Header(entry);
  Rule rule;
  rule.source = DecodeAddress<Family>(header.src, header.smsk, header.invflags & Family::kInvertSource);
  rule.destination = DecodeAddress<Family>(header.dst, header.dmsk, header.invflags & Family::kInvertDestination);
  rule.in_interface = DecodeInterface(header.iniface, header.invflags & Family::kInvertInInterface);
  rule.out_interface = DecodeInterface(header.outiface, header.invflags & Family::kInvertOutInterface);
  bool protocol_negated = header.invflags & Family::kInvertProtocol;
  if (header.proto != 0 || protocol_negated) rule.protocol = ProtocolMatch{header.proto, protocol_negated};

  const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
  for (size_t offset = XT_ALIGN(sizeof(entry)); offset < entry.target_offset;) {
    const auto& match = *reinterpret_cast<const xt_entry_match*>(bytes + offset);
    if (match.u.match_size == 0) break;  // never from the kernel, but it would loop forever
    rule.matches.push_back(DecodeMatch({match, match.u.match_size}));
    offset += match.u.match_size;
  }
  rule.target = DecodeTarget<Family>(entry, target_name);
  return rule;
}

namespace {

// The extension as it would sit in an entry: its header, then its info.
// (Not named `bytes`: xt_sctp.h defines that as a macro.)
template <typename Header>
std::vector<uint8_t> ExtensionBytes(const XtExtension& extension) {
  const size_t header_size = XT_ALIGN(sizeof(Header));
  std::vector<uint8_t> entry(header_size + extension.info.size());
  auto& header = *reinterpret_cast<Header*>(entry.data());
  std::memcpy(header.u.user.name, extension.name.data(), extension.name.size());
  header.u.user.revision = extension.revision;
  std::memcpy(entry.data() + header_size, extension.info.data(), extension.info.size());
  return entry;
}

}  // namespace

template <typename Family>
Match DecodeXtMatch(const XtExtension& extension) {
  if (extension.name.size() >= XT_EXTENSION_MAXNAMELEN) return UnsupportedMatch{extension.name, extension.revision};
  std::vector<uint8_t> entry = ExtensionBytes<xt_entry_match>(extension);
  return DecodeMatch({*reinterpret_cast<const xt_entry_match*>(entry.data()), entry.size()});
}

template <typename Family>
Target DecodeXtTarget(const XtExtension& extension) {
  if (extension.name.size() < XT_EXTENSION_MAXNAMELEN) {
    std::vector<uint8_t> entry = ExtensionBytes<xt_entry_target>(extension);
    if (auto nat = DecodeNatTarget<Family>({*reinterpret_cast<const xt_entry_target*>(entry.data()), entry.size()})) {
      return *nat;
    }
  }
  return UnsupportedTarget{extension.name, extension.revision};
}

template std::vector<uint8_t> EncodeEntry<Ipv4>(const Rule&);
template std::vector<uint8_t> EncodeEntry<Ipv6>(const Rule&);
template XtExtensions EncodeXtExtensions<Ipv4>(const Rule&);
template XtExtensions EncodeXtExtensions<Ipv6>(const Rule&);
template Rule DecodeEntry<Ipv4>(const Ipv4::Entry&, const char*);
template Rule DecodeEntry<Ipv6>(const Ipv6::Entry&, const char*);
template Match DecodeXtMatch<Ipv4>(const XtExtension&);
template Match DecodeXtMatch<Ipv6>(const XtExtension&);
template Target DecodeXtTarget<Ipv4>(const XtExtension&);
template Target DecodeXtTarget<Ipv6>(const XtExtension&);

}  // namespace bridgewall::iptc
