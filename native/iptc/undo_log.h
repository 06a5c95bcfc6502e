// What a transaction records of each table as it changes it, to put the
// table back after it was committed when a later table's commit fails: the
// inverse of every operation, played in reverse on a fresh libiptc read of
// the table as committed and committed again. Keeping it costs next to
// nothing for the operations a port call makes (a removed rule's entry is
// copied, nothing more), where reading the table's image before the first
// commit costs a read of the whole table from the kernel. The entries it
// copies cost a walk of their chain each, so a log that would cost more than
// reading the table gives up (Affordable) and the transaction reads the image
// instead (table_image.h). A step of a walk (libiptc's list, in memory) costs
// some 20 ns, a rule of the image some 500 (5 ms for 10,000 rules), so the
// log may walk or copy kStepsPerRule times the rules the table holds.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "iptc/family.h"
#include "iptc/rule.h"

namespace bridgewall::iptc {

template <typename Family>
class UndoLog {
 public:
  static constexpr size_t kStepsPerRule = 16;

  // `rules`: how many rules the table holds as read.
  explicit UndoLog(size_t rules) : budget_(rules * kStepsPerRule) {}

  // Records the inverse of `op`, which is about to be applied to `handle`.
  // An operation that will fail records nothing: its transaction commits nothing.
  void Record(xtc_handle* handle, const Operation& op) {
    if (!Affordable()) return;
    const char* chain = op.chain.c_str();
    switch (op.kind) {
      case Operation::Kind::kNewChain:
        steps_.push_back({Step::Kind::kDeleteChain, op.chain});
        break;
      case Operation::Kind::kDeleteChain:
        // libiptc deletes only an empty chain no rule jumps to.
        steps_.push_back({Step::Kind::kCreateChain, op.chain});
        break;
      case Operation::Kind::kSetPolicy: {
        Step step{Step::Kind::kSetPolicy, op.chain};
        const char* policy = Family::GetPolicy(chain, &step.counters, handle);
        if (policy == nullptr) break;
        step.policy = policy;
        steps_.push_back(std::move(step));
        break;
      }
      case Operation::Kind::kAppend:
        steps_.push_back({Step::Kind::kDeleteLast, op.chain});
        break;
      case Operation::Kind::kInsert:
        steps_.push_back({Step::Kind::kDeleteAt, op.chain, op.index});
        break;
      case Operation::Kind::kReplace:
      case Operation::Kind::kDeleteAt:
        if (const auto* entry = RuleAt(handle, chain, op.index)) {
          Step step{op.kind == Operation::Kind::kReplace ? Step::Kind::kReplace : Step::Kind::kInsert, op.chain, op.index};
          step.entries.push_back(Reinsertable(*entry, handle));
          steps_.push_back(std::move(step));
        }
        break;
      case Operation::Kind::kFlushChain:
      case Operation::Kind::kDeleteRule: {
        // Which of equal rules deleteRule takes is libiptc's to say: the whole chain is put back.
        Step step{Step::Kind::kRefill, op.chain};
        for (const auto* entry = Family::FirstRule(chain, handle); entry != nullptr && Affordable();
             entry = Family::NextRule(entry, handle)) {
          ++cost_;
          step.entries.push_back(Reinsertable(*entry, handle));
        }
        steps_.push_back(std::move(step));
        break;
      }
    }
    if (!Affordable()) steps_.clear();
  }

  // Whether the log holds every operation recorded; once false, it holds none.
  bool Affordable() const { return cost_ <= budget_; }

  // Puts `table` of the calling thread's namespace back as it was before the
  // operations recorded, which it holds as committed; 0 or the errno of the
  // libiptc call that failed. Rules put back keep the counters they were
  // read with; the others keep theirs (libiptc carries them over).
  int Undo(const std::string& table) const {
    xtc_handle* handle = Family::Init(table.c_str());
    if (handle == nullptr) return errno;
    int errnum = 0;
    for (auto step = steps_.rbegin(); errnum == 0 && step != steps_.rend(); ++step) errnum = Apply(handle, *step);
    if (errnum == 0 && !Family::Commit(handle)) errnum = errno;
    Family::Free(handle);
    return errnum;
  }

 private:
  struct Step {
    enum class Kind { kDeleteChain, kCreateChain, kSetPolicy, kDeleteLast, kDeleteAt, kInsert, kReplace, kRefill };
    Kind kind;
    std::string chain;
    unsigned int index = 0;
    std::string policy;
    xt_counters counters{};
    std::vector<std::vector<uint8_t>> entries;
  };

  using Entry = typename Family::Entry;

  // The rule at `index` of `chain`, null past its end (the operation then fails).
  const Entry* RuleAt(xtc_handle* handle, const char* chain, unsigned int index) {
    unsigned int at = 0;
    for (const auto* entry = Family::FirstRule(chain, handle); entry != nullptr && Affordable();
         entry = Family::NextRule(entry, handle), ++at) {
      ++cost_;
      if (at == index) return entry;
    }
    return nullptr;
  }

  // The entry's bytes, counters included, as libiptc takes an entry to add:
  // the target named, where the kernel's standard target holds a verdict or
  // a jump's offset.
  static std::vector<uint8_t> Reinsertable(const Entry& entry, xtc_handle* handle) {
    const char* target = Family::GetTarget(&entry, handle);
    std::vector<uint8_t> bytes(reinterpret_cast<const uint8_t*>(&entry),
                               reinterpret_cast<const uint8_t*>(&entry) + entry.next_offset);
    char* name = reinterpret_cast<xt_entry_target*>(bytes.data() + entry.target_offset)->u.user.name;
    // `target` may be the entry's own name field (an extension's), so it is read from the original.
    std::memset(name, 0, XT_EXTENSION_MAXNAMELEN);
    std::strncpy(name, target, XT_EXTENSION_MAXNAMELEN - 1);
    return bytes;
  }

  static const Entry* AsEntry(const std::vector<uint8_t>& bytes) { return reinterpret_cast<const Entry*>(bytes.data()); }

  // 0, or the errno of the libiptc call that failed.
  static int Apply(xtc_handle* handle, const Step& step) {
    const char* chain = step.chain.c_str();
    switch (step.kind) {
      case Step::Kind::kDeleteChain:
        return Family::DeleteChain(chain, handle) ? 0 : errno;
      case Step::Kind::kCreateChain:
        return Family::CreateChain(chain, handle) ? 0 : errno;
      case Step::Kind::kSetPolicy: {
        xt_counters counters = step.counters;
        return Family::SetPolicy(chain, step.policy.c_str(), &counters, handle) ? 0 : errno;
      }
      case Step::Kind::kDeleteLast: {
        unsigned int rules = 0;
        for (const auto* entry = Family::FirstRule(chain, handle); entry != nullptr; entry = Family::NextRule(entry, handle)) {
          ++rules;
        }
        if (rules == 0) return ENOENT;
        return Family::DeleteNumEntry(chain, rules - 1, handle) ? 0 : errno;
      }
      case Step::Kind::kDeleteAt:
        return Family::DeleteNumEntry(chain, step.index, handle) ? 0 : errno;
      case Step::Kind::kInsert:
        return Family::InsertEntry(chain, AsEntry(step.entries.front()), step.index, handle) ? 0 : errno;
      case Step::Kind::kReplace:
        return Family::ReplaceEntry(chain, AsEntry(step.entries.front()), step.index, handle) ? 0 : errno;
      case Step::Kind::kRefill:
        if (!Family::FlushEntries(chain, handle)) return errno;
        for (const auto& entry : step.entries) {
          if (!Family::AppendEntry(chain, AsEntry(entry), handle)) return errno;
        }
        return 0;
    }
    return EINVAL;
  }

  size_t budget_;
  size_t cost_ = 0;
  std::vector<Step> steps_;
};

}  // namespace bridgewall::iptc
