#include "iptc/session.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <mutex>

#include "error.h"
#include "iptc/entry.h"
#include "iptc/family.h"
#include "iptc/xtables_lock.h"
#include "netns.h"

namespace bridgewall::iptc {

namespace {

// libiptc keeps the socket in its handle, but records the function last
// called in a process-wide variable (iptc_fn) that iptc_strerror reads to word
// its message; concurrent use would mix up the messages. The xtables lock
// serialises transactions against other processes only (two flocks from one
// process on separate descriptors also exclude each other, but by polling), so
// this mutex serialises the threads of this process first.
std::mutex& LibiptcMutex() {
  static std::mutex mutex;
  return mutex;
}

// Each operation's stable name, as JavaScript spells the operation.
const char* OperationName(Operation::Kind kind) {
  switch (kind) {
    case Operation::Kind::kNewChain: return "iptc.newChain";
    case Operation::Kind::kFlushChain: return "iptc.flushChain";
    case Operation::Kind::kDeleteChain: return "iptc.deleteChain";
    case Operation::Kind::kSetPolicy: return "iptc.setPolicy";
    case Operation::Kind::kAppend: return "iptc.append";
    case Operation::Kind::kInsert: return "iptc.insert";
    case Operation::Kind::kReplace: return "iptc.replace";
    case Operation::Kind::kDeleteAt: return "iptc.deleteAt";
    case Operation::Kind::kDeleteRule: return "iptc.deleteRule";
  }
  return "iptc";
}

const char* PolicyName(Verdict verdict) { return verdict == Verdict::kDrop ? "DROP" : "ACCEPT"; }

// libiptc reports failures through errno; its own strerror words them for
// the function that failed ("Chain is not empty", "Index of insertion too big").
// Callers read errno right after the failing call, before anything can reset it.
template <typename Family>
[[noreturn]] void FailLibiptc(int errnum, const char* operation, const std::string& what, long index = -1) {
  Fail(errnum, operation, what + ": " + Family::StrError(errnum), index);
}

// 0, or the errno of a failed libiptc call.
int ErrnoUnless(int succeeded) { return succeeded ? 0 : errno; }

// One libiptc snapshot of a table, freed on every path.
template <typename Family>
class Snapshot {
 public:
  explicit Snapshot(const std::string& table) : handle_(Family::Init(table.c_str())) {
    if (handle_ == nullptr) {
      int errnum = errno;
      FailLibiptc<Family>(errnum, "iptc.init", "cannot read table " + table);
    }
  }
  ~Snapshot() { Family::Free(handle_); }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  xtc_handle* get() const { return handle_; }

 private:
  xtc_handle* handle_;
};

// The entry for a rule operation. A jump to a missing chain would otherwise be
// taken for a target extension of that name and rejected only by the kernel
// at commit, with no index to report.
template <typename Family>
std::vector<uint8_t> EncodeRuleOf(xtc_handle* handle, const Operation& op, long index) {
  const auto* jump = std::get_if<JumpTarget>(&op.rule.target);
  if (jump != nullptr && !Family::IsChain(jump->chain.c_str(), handle)) {
    Fail(ENOENT, OperationName(op.kind), "cannot jump to chain " + jump->chain + ": it does not exist", index);
  }
  return EncodeEntry<Family>(op.rule);
}

template <typename Family>
const typename Family::Entry* AsEntry(const std::vector<uint8_t>& bytes) {
  return reinterpret_cast<const typename Family::Entry*>(bytes.data());
}

// Applies one operation to the snapshot; returns 0 or the errno libiptc set.
template <typename Family>
int Apply(xtc_handle* handle, const Operation& op, long index) {
  const char* chain = op.chain.c_str();
  switch (op.kind) {
    case Operation::Kind::kNewChain:
      return ErrnoUnless(Family::CreateChain(chain, handle));
    case Operation::Kind::kFlushChain:
      return ErrnoUnless(Family::FlushEntries(chain, handle));
    case Operation::Kind::kDeleteChain: {
      int errnum = ErrnoUnless(Family::DeleteChain(chain, handle));
      // libiptc says EMLINK where nftables says EBUSY; callers should not have
      // to branch on the backend to learn that a chain is still jumped to.
      if (errnum == EMLINK) {
        Fail(EBUSY, OperationName(op.kind), "chain " + op.chain + ": cannot delete a chain that rules still jump to",
             index);
      }
      return errnum;
    }
    case Operation::Kind::kSetPolicy:
      return ErrnoUnless(Family::SetPolicy(chain, PolicyName(op.policy), nullptr, handle));
    case Operation::Kind::kDeleteAt:
      return ErrnoUnless(Family::DeleteNumEntry(chain, op.index, handle));
    case Operation::Kind::kAppend:
      return ErrnoUnless(Family::AppendEntry(chain, AsEntry<Family>(EncodeRuleOf<Family>(handle, op, index)), handle));
    case Operation::Kind::kInsert:
      return ErrnoUnless(
          Family::InsertEntry(chain, AsEntry<Family>(EncodeRuleOf<Family>(handle, op, index)), op.index, handle));
    case Operation::Kind::kReplace:
      return ErrnoUnless(
          Family::ReplaceEntry(chain, AsEntry<Family>(EncodeRuleOf<Family>(handle, op, index)), op.index, handle));
    case Operation::Kind::kDeleteRule: {
      std::vector<uint8_t> bytes = EncodeRuleOf<Family>(handle, op, index);
      // Compare every byte: none of the modelled extensions keeps kernel-private state.
      std::vector<unsigned char> compare_all(bytes.size(), 0xFF);
      return ErrnoUnless(Family::DeleteEntry(chain, AsEntry<Family>(bytes), compare_all.data(), handle));
    }
  }
  return EINVAL;
}

template <typename Family>
void Transact(const Transaction& transaction) {
  Snapshot<Family> snapshot(transaction.table);
  for (size_t i = 0; i < transaction.operations.size(); ++i) {
    const Operation& op = transaction.operations[i];
    long index = static_cast<long>(i);
    if (int errnum = Apply<Family>(snapshot.get(), op, index); errnum != 0) {
      FailLibiptc<Family>(errnum, OperationName(op.kind), "chain " + op.chain, index);
    }
  }
  if (int errnum = ErrnoUnless(Family::Commit(snapshot.get())); errnum != 0) {
    FailLibiptc<Family>(errnum, "iptc.commit", "cannot commit table " + transaction.table);
  }
}

// Zeroes the bytes after the NUL of a match or target name. The kernel writes
// names back only up to their NUL, into a buffer libiptc does not clear, so
// those bytes are stale heap memory of this process, not part of the rule.
template <typename Header>
void ClearNamePadding(uint8_t* header_bytes) {
  auto* header = reinterpret_cast<Header*>(header_bytes);
  size_t length = strnlen(header->u.user.name, sizeof(header->u.user.name));
  std::memset(header->u.user.name + length, 0, sizeof(header->u.user.name) - length);
}

// The entry's bytes without counters (reported separately) or stale padding,
// so equal rules have equal bytes.
template <typename Family>
std::vector<uint8_t> RawEntry(const typename Family::Entry& entry) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
  std::vector<uint8_t> raw(bytes, bytes + entry.next_offset);
  std::memset(raw.data() + offsetof(typename Family::Entry, counters), 0, sizeof(entry.counters));
  for (size_t offset = XT_ALIGN(sizeof(entry)); offset < entry.target_offset;) {
    uint16_t size = reinterpret_cast<const xt_entry_match*>(raw.data() + offset)->u.match_size;
    if (size == 0) break;  // never from the kernel, but it would loop forever
    ClearNamePadding<xt_entry_match>(raw.data() + offset);
    offset += size;
  }
  ClearNamePadding<xt_entry_target>(raw.data() + entry.target_offset);
  return raw;
}

template <typename Family>
DumpedRule DumpRule(const typename Family::Entry& entry, xtc_handle* handle) {
  DumpedRule rule;
  rule.rule = DecodeEntry<Family>(entry, Family::GetTarget(&entry, handle));
  rule.packets = entry.counters.pcnt;
  rule.bytes = entry.counters.bcnt;
  rule.raw = RawEntry<Family>(entry);
  return rule;
}

template <typename Family>
TableDump Read(const std::string& table) {
  Snapshot<Family> snapshot(table);
  xtc_handle* handle = snapshot.get();
  TableDump dump;
  for (const char* name = Family::FirstChain(handle); name != nullptr; name = Family::NextChain(handle)) {
    DumpedChain& chain = dump.chains.emplace_back();
    chain.name = name;
    chain.builtin = Family::IsBuiltin(name, handle);
    if (chain.builtin) {
      xt_counters counters{};
      chain.policy = Family::GetPolicy(name, &counters, handle);
      chain.packets = counters.pcnt;
      chain.bytes = counters.bcnt;
    }
    for (const auto* entry = Family::FirstRule(name, handle); entry != nullptr; entry = Family::NextRule(entry, handle)) {
      chain.rules.push_back(DumpRule<Family>(*entry, handle));
    }
  }
  return dump;
}

}  // namespace

void RunTransaction(const Transaction& transaction, int netns_fd) {
  std::lock_guard<std::mutex> guard(LibiptcMutex());
  XtablesLock lock(transaction.lock_path, transaction.lock_timeout_ms);
  NetnsScope scope(netns_fd, "iptc.transaction");
  if (transaction.ip_version == IpVersion::kIpv4) {
    Transact<Ipv4>(transaction);
  } else {
    Transact<Ipv6>(transaction);
  }
}

TableDump ReadTable(IpVersion ip_version, const std::string& table, int netns_fd) {
  // A dump is one getsockopt snapshot, so iptables-save takes no lock and nor do we.
  std::lock_guard<std::mutex> guard(LibiptcMutex());
  NetnsScope scope(netns_fd, "iptc.dump");
  return ip_version == IpVersion::kIpv4 ? Read<Ipv4>(table) : Read<Ipv6>(table);
}

}  // namespace bridgewall::iptc
