#include "iptc/session.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "error.h"
#include "iptc/entry.h"
#include "iptc/family.h"
#include "iptc/packed_dump.h"
#include "iptc/packed_operations.h"
#include "iptc/table_image.h"
#include "iptc/undo_log.h"
#include "iptc/xtables_lock.h"
#include "netns.h"

namespace bridgewall::iptc {

namespace {

// libiptc keeps the socket in its handle, but records the function last
// called in a process-wide variable (iptc_fn) that iptc_strerror reads to word
// its message; concurrent transactions would mix up the messages. The xtables
// lock serialises transactions against other processes only (two flocks from
// one process on separate descriptors also exclude each other, but by
// polling), so this mutex serialises the threads of this process first.
// Within one transaction the tables may commit on threads of their own at
// once (AtOnce): each handle is then the thread's own, and every thread calls
// the same functions, so iptc_fn words a failed commit alike.
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

// How a kernel without legacy x_tables answers libiptc opening a table:
// ENOPROTOOPT when ip_tables/ip6_tables is absent (not built, or not loadable:
// Linux 6.17+ builds it only on request), EAFNOSUPPORT without IPv6, ENOENT
// when the table's own module (iptable_nat, ...) is missing.
bool IsNoLegacy(int errnum) { return errnum == ENOPROTOOPT || errnum == EAFNOSUPPORT || errnum == ENOENT; }

template <typename Family>
[[noreturn]] void FailNoLegacy(int errnum, const std::string& table) {
  FailNamed(kNoLegacy, errnum, "iptc.init",
            std::string("the kernel has no legacy ") + Family::kToolName + " table " + table + " (libiptc: " +
                Family::StrError(errnum) + "): use the iptables-nft backend (the same rules in nf_tables), the nftables " +
                "backend (the default), or load the " + Family::kModuleName + " and " + Family::kTablePrefix + table +
                " modules (modprobe)");
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
      if (IsNoLegacy(errnum)) FailNoLegacy<Family>(errnum, table);
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
  std::vector<uint8_t> entry = EncodeEntry<Family>(op.rule);
  // Entries keep their offsets in 16 bits: a larger one (a rule of hundreds
  // of comments) would be cut short and read past its end.
  if (entry.size() > UINT16_MAX) {
    Fail(EINVAL, OperationName(op.kind),
         "the rule takes " + std::to_string(entry.size()) + " bytes, more than the 65535 an iptables entry holds", index);
  }
  return entry;
}

template <typename Family>
const typename Family::Entry* AsEntry(const std::vector<uint8_t>& bytes) {
  return reinterpret_cast<const typename Family::Entry*>(bytes.data());
}

// Applies one operation to the snapshot; returns 0 or the errno libiptc set.
// Adds the bytes of the entry it adds, if any, to `added_bytes`.
template <typename Family>
int Apply(xtc_handle* handle, const Operation& op, long index, size_t& added_bytes) {
  const char* chain = op.chain.c_str();
  const auto encoded = [&] {
    std::vector<uint8_t> entry = EncodeRuleOf<Family>(handle, op, index);
    added_bytes += entry.size();
    return entry;
  };
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
      return ErrnoUnless(Family::AppendEntry(chain, AsEntry<Family>(encoded()), handle));
    case Operation::Kind::kInsert:
      return ErrnoUnless(Family::InsertEntry(chain, AsEntry<Family>(encoded()), op.index, handle));
    case Operation::Kind::kReplace:
      return ErrnoUnless(Family::ReplaceEntry(chain, AsEntry<Family>(encoded()), op.index, handle));
    case Operation::Kind::kDeleteRule: {
      std::vector<uint8_t> bytes = EncodeRuleOf<Family>(handle, op, index);
      // Compare every byte: none of the modelled extensions keeps kernel-private state.
      std::vector<unsigned char> compare_all(bytes.size(), 0xFF);
      return ErrnoUnless(Family::DeleteEntry(chain, AsEntry<Family>(bytes), compare_all.data(), handle));
    }
  }
  return EINVAL;
}

// Zeroes, in `to` (a copy of `header`), the bytes after the NUL of a match or
// target name. The kernel writes names back only up to their NUL, into a
// buffer libiptc does not clear, so those bytes are stale heap memory of this
// process, not part of the rule. The copy may be unaligned, so only the
// original is read as a struct.
template <typename Header>
void ClearNamePadding(const Header& header, uint8_t* to) {
  const char* name = header.u.user.name;
  size_t length = strnlen(name, sizeof(header.u.user.name));
  size_t name_offset = static_cast<size_t>(name - reinterpret_cast<const char*>(&header));
  std::memset(to + name_offset + length, 0, sizeof(header.u.user.name) - length);
}

// Clears in `raw`, a copy of the entry's next_offset bytes, its counters
// (reported separately), comefrom (the hooks the kernel found the rule
// reachable from, filled in at commit) and stale padding, so equal rules
// have equal bytes.
template <typename Family>
void ClearEntry(const typename Family::Entry& entry, uint8_t* raw) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
  std::memset(raw + offsetof(typename Family::Entry, counters), 0, sizeof(entry.counters));
  std::memset(raw + offsetof(typename Family::Entry, comefrom), 0, sizeof(entry.comefrom));
  for (size_t offset = XT_ALIGN(sizeof(entry)); offset < entry.target_offset;) {
    const auto& match = *reinterpret_cast<const xt_entry_match*>(bytes + offset);
    if (match.u.match_size == 0) break;  // never from the kernel, but it would loop forever
    ClearNamePadding(match, raw + offset);
    offset += match.u.match_size;
  }
  ClearNamePadding(*reinterpret_cast<const xt_entry_target*>(bytes + entry.target_offset), raw + entry.target_offset);
}

// A 64-bit hash of what identifies a table: chain names, kinds and
// policies, and every rule's bytes without counters. Eight bytes a step, in
// four lanes that take turns so that the processor works on four at once (a
// table of 100,000 mappings is about 60 MB of entries, hashed for every
// transaction and read); it detects change, it resists no adversary.
class Fingerprint {
 public:
  void Add(const void* data, size_t size) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    size_t i = 0;
    for (; lane_ != 0 && i + sizeof(uint64_t) <= size; i += sizeof(uint64_t)) Mix(Word(bytes + i));
    if (lane_ == 0) {
      uint64_t a = lanes_[0], b = lanes_[1], c = lanes_[2], d = lanes_[3];
      for (; i + 4 * sizeof(uint64_t) <= size; i += 4 * sizeof(uint64_t)) {
        a = Step(a, Word(bytes + i));
        b = Step(b, Word(bytes + i + 8));
        c = Step(c, Word(bytes + i + 16));
        d = Step(d, Word(bytes + i + 24));
      }
      lanes_[0] = a, lanes_[1] = b, lanes_[2] = c, lanes_[3] = d;
    }
    for (; i + sizeof(uint64_t) <= size; i += sizeof(uint64_t)) Mix(Word(bytes + i));
    for (; i < size; ++i) Mix(bytes[i]);
  }
  // `policy`: null for a user chain.
  void Chain(const char* name, const char* policy) {
    Add(name, std::strlen(name) + 1);
    if (policy != nullptr) Add(policy, std::strlen(policy) + 1);
  }
  // The end of a chain, so rules cannot move between chains unseen.
  void EndChain() { Add("", 1); }
  std::string Hex() const {
    uint64_t hash = lanes_[0];
    for (size_t lane = 1; lane < kLanes; ++lane) hash = Step(hash, lanes_[lane]);
    char text[17];
    std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
    return text;
  }

 private:
  static constexpr size_t kLanes = 4;
  static uint64_t Word(const uint8_t* bytes) {
    uint64_t word;
    std::memcpy(&word, bytes, sizeof(word));
    return word;
  }
  static uint64_t Step(uint64_t hash, uint64_t value) { return (((hash << 5) | (hash >> 59)) ^ value) * 0x9E3779B97F4A7C15ULL; }
  void Mix(uint64_t value) {
    lanes_[lane_] = Step(lanes_[lane_], value);
    lane_ = (lane_ + 1) % kLanes;
  }

  uint64_t lanes_[kLanes] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL, 0x9ce484222325cbf2ULL, 0x2325cbf29ce48422ULL};
  size_t lane_ = 0;
};

// Shows `visitor` every chain of the table in kernel order: Chain(name,
// policy or null for a user chain, policy counters), Rule(entry) for each of
// its rules, then EndChain().
template <typename Family, typename Visitor>
void Walk(xtc_handle* handle, Visitor& visitor) {
  for (const char* name = Family::FirstChain(handle); name != nullptr; name = Family::NextChain(handle)) {
    xt_counters counters{};
    const char* policy = Family::IsBuiltin(name, handle) ? Family::GetPolicy(name, &counters, handle) : nullptr;
    visitor.Chain(name, policy, counters);
    for (const auto* entry = Family::FirstRule(name, handle); entry != nullptr; entry = Family::NextRule(entry, handle)) {
      visitor.Rule(*entry);
    }
    visitor.EndChain();
  }
}

// Counts the rules of a table and the bytes of their entries.
template <typename Family>
struct SizeVisitor {
  size_t rules = 0;
  size_t entry_bytes = 0;

  void Chain(const char*, const char*, const xt_counters&) {}
  void Rule(const typename Family::Entry& entry) {
    ++rules;
    entry_bytes += entry.next_offset;
  }
  void EndChain() {}
};

// Fingerprints the table, counting it on the way.
template <typename Family>
class FingerprintVisitor {
 public:
  void Chain(const char* name, const char* policy, const xt_counters&) { fingerprint_.Chain(name, policy); }
  void Rule(const typename Family::Entry& entry) {
    size.Rule(entry);
    const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
    raw_.assign(bytes, bytes + entry.next_offset);
    ClearEntry<Family>(entry, raw_.data());
    fingerprint_.Add(raw_.data(), raw_.size());
  }
  void EndChain() { fingerprint_.EndChain(); }
  std::string Hex() const { return fingerprint_.Hex(); }

  SizeVisitor<Family> size;

 private:
  Fingerprint fingerprint_;
  std::vector<uint8_t> raw_;  // reused from rule to rule
};

template <typename Family>
std::string FingerprintOf(xtc_handle* handle) {
  FingerprintVisitor<Family> visitor;
  Walk<Family>(handle, visitor);
  return visitor.Hex();
}

// Packs the table as it walks it, taking its fingerprint on the way.
template <typename Family>
class DumpVisitor {
 public:
  DumpVisitor(xtc_handle* handle, const SizeVisitor<Family>& size)
      : handle_(handle), out_(Family::kAddressLength, size.rules, size.entry_bytes) {}

  void Chain(const char* name, const char* policy, const xt_counters& counters) {
    fingerprint_.Chain(name, policy);
    out_.Chain(name, policy, counters.pcnt, counters.bcnt);
  }
  void Rule(const typename Family::Entry& entry) {
    uint8_t* raw = out_.Rule(entry.counters.pcnt, entry.counters.bcnt, &entry, entry.next_offset);
    ClearEntry<Family>(entry, raw);
    fingerprint_.Add(raw, entry.next_offset);
    out_.RuleRecord(DecodeEntry<Family>(entry, Family::GetTarget(&entry, handle_)));
  }
  void EndChain() { fingerprint_.EndChain(); }
  PackedDump Finish() { return out_.Finish(fingerprint_.Hex()); }

 private:
  xtc_handle* handle_;
  DumpWriter out_;
  Fingerprint fingerprint_;
};

template <typename Family>
PackedDump Read(const std::string& table) {
  Snapshot<Family> snapshot(table);
  SizeVisitor<Family> size;
  Walk<Family>(snapshot.get(), size);
  DumpVisitor<Family> visitor(snapshot.get(), size);
  Walk<Family>(snapshot.get(), visitor);
  return visitor.Finish();
}

// One table of a transaction: its snapshot with every operation applied, and
// the way back to the table as read, should another table's commit fail.
class PreparedTable {
 public:
  virtual ~PreparedTable() = default;
  // The size of the table's rules as read, and of those the operations added:
  // about the size as changed, counted without another walk.
  virtual size_t EntryBytes() const = 0;
  // Makes sure RollBack() can put the table back once committed: unless the
  // undo log holds the way, reads the table's image from the kernel.
  virtual void KeepWayBack() = 0;
  // Whether the undo log alone can put the table back.
  virtual bool Undoable() const = 0;
  // 0 or the errno of the failed commit.
  virtual int Commit() = 0;
  // What a read of the table gives after Commit().
  virtual std::string CommittedFingerprint() = 0;
  // Puts back the table as read; 0 or the errno.
  virtual int RollBack() = 0;
  virtual std::string StrError(int errnum) const = 0;
  virtual const std::string& table() const = 0;
};

template <typename Family>
class PreparedTableOf : public PreparedTable {
 public:
  // Refuses with ERESTART a table that no longer has the expected
  // fingerprint, then applies the operations, recording their undo.
  PreparedTableOf(const TableChange& change, OperationCursor& operations)
      : table_(change.table), changed_(change.table), undo_(CheckAndCount(change)) {
    Operation op;
    while (operations.Next(op)) {
      undo_.Record(changed_.get(), op);
      if (int errnum = Apply<Family>(changed_.get(), op, operations.index(), entry_bytes_); errnum != 0) {
        FailLibiptc<Family>(errnum, OperationName(op.kind), "chain " + op.chain, operations.index());
      }
    }
  }

  size_t EntryBytes() const override { return entry_bytes_; }
  bool Undoable() const override { return undo_.Affordable(); }
  void KeepWayBack() override {
    if (!undo_.Affordable()) original_.emplace(table_);
  }
  int Commit() override { return ErrnoUnless(Family::Commit(changed_.get())); }
  // After the commit libiptc's handle holds the entries as it compiled them,
  // jumps at their new offsets: what a read of the table now gives, but
  // comefrom, which the kernel fills in and fingerprints leave out. So the
  // caller can check its next commit against the table as committed without
  // reading it back. (Where a kernel changed more of what it was given,
  // the next commit would fail with ERESTART and its caller read afresh: slower,
  // never wrong.)
  std::string CommittedFingerprint() override { return FingerprintOf<Family>(changed_.get()); }

  int RollBack() override { return original_ ? original_->PutBack() : undo_.Undo(table_); }

  std::string StrError(int errnum) const override { return Family::StrError(errnum); }
  const std::string& table() const override { return table_; }

 private:
  // Walks the snapshot as read once: its fingerprint checked, if expected,
  // and its rules counted (the undo log's budget) and their bytes.
  size_t CheckAndCount(const TableChange& change) {
    SizeVisitor<Family> size;
    if (change.expected_fingerprint) {
      FingerprintVisitor<Family> visitor;
      Walk<Family>(changed_.get(), visitor);
      if (visitor.Hex() != *change.expected_fingerprint) {
        Fail(ERESTART, "iptc.transaction",
             "table " + change.table + " changed since it was read; read it again and recompute the changes");
      }
      size = visitor.size;
    } else {
      Walk<Family>(changed_.get(), size);
    }
    entry_bytes_ = size.entry_bytes;
    return size.rules;
  }

  std::string table_;
  Snapshot<Family> changed_;
  size_t entry_bytes_ = 0;
  UndoLog<Family> undo_;
  std::optional<TableImage<Family>> original_;
};

std::unique_ptr<PreparedTable> Prepare(const TableChange& change, OperationCursor& operations) {
  if (change.ip_version == IpVersion::kIpv4) return std::make_unique<PreparedTableOf<Ipv4>>(change, operations);
  return std::make_unique<PreparedTableOf<Ipv6>>(change, operations);
}

// The order to commit the tables in: as given, but the largest last, since
// the way back to every table committed before another is kept (its undo
// log, or where that would cost more, its image read from the kernel), and at
// 10,000 mappings nat is twice the size of filter.
std::vector<size_t> CommitOrder(const std::vector<std::unique_ptr<PreparedTable>>& prepared) {
  std::vector<size_t> order;
  size_t largest = 0;
  size_t largest_bytes = 0;
  for (size_t i = 0; i < prepared.size(); ++i) {
    size_t bytes = prepared[i]->EntryBytes();
    if (bytes > largest_bytes) largest = i, largest_bytes = bytes;
  }
  for (size_t i = 0; i < prepared.size(); ++i) {
    if (i != largest) order.push_back(i);
  }
  if (!prepared.empty()) order.push_back(largest);
  return order;
}

const char* FamilyName(IpVersion ip_version) { return ip_version == IpVersion::kIpv4 ? "ipv4" : "ipv6"; }

// Runs work(i) for every i below `count` at once, each on a thread of its
// own (the last on the calling thread, whose network namespace the others
// start in); once all have ended, rethrows the failure of the first that failed.
template <typename Work>
void AtOnce(size_t count, const Work& work) {
  std::vector<std::exception_ptr> failures(count);
  const auto run = [&](size_t i) {
    try {
      work(i);
    } catch (...) {
      failures[i] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i + 1 < count; ++i) {
    try {
      threads.emplace_back(run, i);
    } catch (const std::system_error&) {
      run(i);  // no thread to spare: this one in turn
    }
  }
  if (count > 0) run(count - 1);
  for (auto& thread : threads) thread.join();
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

std::string CommitFailure(const TableChange& change, const PreparedTable& prepared, int errnum) {
  return "cannot commit " + std::string(FamilyName(change.ip_version)) + " table " + change.table + ": " +
         prepared.StrError(errnum);
}

void AddRollBack(std::string& message, PreparedTable& prepared) {
  if (int errnum = prepared.RollBack(); errnum != 0) {
    message += "; putting back table " + prepared.table() + " also failed (" + std::strerror(errnum) +
               "), so it keeps the new rules";
  }
}

std::vector<std::string> Transact(const Transaction& transaction) {
  size_t count = transaction.tables.size();
  // One table after another: the kernel hands out a table's entries holding
  // the lock of every table of its family, so reading them at once only
  // makes one thread spin while the other reads.
  std::vector<std::unique_ptr<PreparedTable>> prepared;
  long first_index = 0;
  for (size_t i = 0; i < count; ++i) {
    OperationCursor operations(transaction.tables[i], i, first_index);
    prepared.push_back(Prepare(transaction.tables[i], operations));
    first_index = operations.end_index();
  }
  std::vector<std::string> fingerprints(count);
  // Where every table's undo log can put it back, the tables commit at once:
  // the kernel checks each new table before it takes the table lock, so the
  // checks overlap, and any table that committed is undone if another failed.
  // Otherwise one at a time, the largest last, each kept before the next.
  bool undoable = std::all_of(prepared.begin(), prepared.end(), [](const auto& table) { return table->Undoable(); });
  if (undoable) {
    std::vector<int> errnums(count);
    AtOnce(count, [&](size_t i) {
      errnums[i] = prepared[i]->Commit();
      if (errnums[i] == 0) fingerprints[i] = prepared[i]->CommittedFingerprint();
    });
    auto failed = std::find_if(errnums.begin(), errnums.end(), [](int errnum) { return errnum != 0; });
    if (failed == errnums.end()) return fingerprints;
    size_t i = static_cast<size_t>(failed - errnums.begin());
    std::string message = CommitFailure(transaction.tables[i], *prepared[i], *failed);
    for (size_t j = 0; j < count; ++j) {
      if (errnums[j] == 0) AddRollBack(message, *prepared[j]);
    }
    Fail(*failed, "iptc.commit", message);
  }
  std::vector<size_t> order = CommitOrder(prepared);
  for (size_t k = 0; k + 1 < order.size(); ++k) prepared[order[k]]->KeepWayBack();
  for (size_t k = 0; k < order.size(); ++k) {
    size_t i = order[k];
    int errnum = prepared[i]->Commit();
    if (errnum == 0) continue;
    std::string message = CommitFailure(transaction.tables[i], *prepared[i], errnum);
    for (size_t j = k; j-- > 0;) AddRollBack(message, *prepared[order[j]]);
    Fail(errnum, "iptc.commit", message);
  }
  for (size_t i = 0; i < count; ++i) fingerprints[i] = prepared[i]->CommittedFingerprint();
  return fingerprints;
}
}  // namespace

std::vector<std::string> RunTransaction(const Transaction& transaction, int netns_fd) {
  CheckOperations(transaction);
  std::lock_guard<std::mutex> guard(LibiptcMutex());
  XtablesLock lock(transaction.lock_path, transaction.lock_timeout_ms);
  NetnsScope scope(netns_fd, "iptc.transaction");
  return Transact(transaction);
}

std::vector<std::string> ExistingTables(IpVersion ip_version, int netns_fd) {
  NetnsScope scope(netns_fd, "iptc.tables");
  // /proc/net is /proc/self/net, the namespace of the process's main thread;
  // this thread's own is under /proc/thread-self.
  const char* path = ip_version == IpVersion::kIpv4 ? "/proc/thread-self/net/ip_tables_names"
                                                    : "/proc/thread-self/net/ip6_tables_names";
  std::FILE* file = std::fopen(path, "re");
  // Absent without ip_tables/ip6_tables: then no table exists.
  if (file == nullptr) {
    if (errno == ENOENT) return {};
    FailErrno("iptc.tables", std::string("cannot read ") + path);
  }
  std::vector<std::string> names;
  char line[64];
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    std::string name(line);
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    if (!name.empty()) names.push_back(std::move(name));
  }
  std::fclose(file);
  return names;
}

PackedDump ReadTable(IpVersion ip_version, const std::string& table, int netns_fd) {
  // A dump is one getsockopt snapshot, so iptables-save takes no lock and nor do we.
  std::lock_guard<std::mutex> guard(LibiptcMutex());
  NetnsScope scope(netns_fd, "iptc.dump");
  return ip_version == IpVersion::kIpv4 ? Read<Ipv4>(table) : Read<Ipv6>(table);
}

}  // namespace bridgewall::iptc
