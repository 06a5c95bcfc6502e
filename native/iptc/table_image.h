// A table exactly as the kernel holds it, read with one getsockopt and put
// back with one setsockopt: what a transaction keeps of a table it commits
// before another, to put it back when a later commit fails, where the undo
// log of its operations (undo_log.h) would cost more. Cheaper than a second
// libiptc snapshot, which parses every entry into its cache (at 20,000 rules
// as long as the snapshot the transaction changes).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "error.h"

namespace bridgewall::iptc {

template <typename Family>
class TableImage {
 public:
  // Reads `table` of the calling thread's namespace; fails as iptc.transaction.
  explicit TableImage(const std::string& table) : socket_(socket(Family::kSocketFamily, SOCK_RAW, IPPROTO_RAW)) {
    if (socket_ < 0) FailErrno("iptc.transaction", "cannot open a socket to keep table " + table);
    std::strncpy(info_.name, table.c_str(), sizeof(info_.name) - 1);
    socklen_t length = sizeof(info_);
    if (getsockopt(socket_, Family::kSocketLevel, Family::kGetInfo, &info_, &length) != 0) {
      Close();
      FailErrno("iptc.transaction", "cannot read table " + table + " to keep it");
    }
    entries_.resize(sizeof(typename Family::GetEntries) + info_.size);
    auto* request = reinterpret_cast<typename Family::GetEntries*>(entries_.data());
    std::memcpy(request->name, info_.name, sizeof(request->name));
    request->size = info_.size;
    length = static_cast<socklen_t>(entries_.size());
    if (getsockopt(socket_, Family::kSocketLevel, Family::kGetEntries, request, &length) != 0) {
      Close();
      FailErrno("iptc.transaction", "cannot read table " + table + " to keep it");
    }
  }
  ~TableImage() { Close(); }
  TableImage(const TableImage&) = delete;
  TableImage& operator=(const TableImage&) = delete;

  // Replaces the table with the image and gives its rules their counters
  // back; 0 or the errno of the failed call.
  int PutBack() const {
    typename Family::GetInfo now{};
    std::memcpy(now.name, info_.name, sizeof(now.name));
    socklen_t length = sizeof(now);
    if (getsockopt(socket_, Family::kSocketLevel, Family::kGetInfo, &now, &length) != 0) return errno;

    std::vector<uint8_t> request(sizeof(typename Family::Replace) + info_.size);
    auto* replace = reinterpret_cast<typename Family::Replace*>(request.data());
    std::memcpy(replace->name, info_.name, sizeof(replace->name));
    replace->valid_hooks = info_.valid_hooks;
    replace->num_entries = info_.num_entries;
    replace->size = info_.size;
    std::memcpy(replace->hook_entry, info_.hook_entry, sizeof(replace->hook_entry));
    std::memcpy(replace->underflow, info_.underflow, sizeof(replace->underflow));
    // The kernel hands back the counters of the table it replaces; they are the new rules' and are dropped.
    std::vector<xt_counters> replaced(now.num_entries);
    replace->num_counters = now.num_entries;
    replace->counters = replaced.data();
    std::memcpy(replace->entries, Entries(), info_.size);
    if (setsockopt(socket_, Family::kSocketLevel, Family::kSetReplace, request.data(),
                   static_cast<socklen_t>(request.size())) != 0) {
      return errno;
    }

    std::vector<uint8_t> counters(sizeof(xt_counters_info) + info_.num_entries * sizeof(xt_counters));
    auto* info = reinterpret_cast<xt_counters_info*>(counters.data());
    std::memcpy(info->name, info_.name, sizeof(info->name));
    info->num_counters = info_.num_entries;
    size_t index = 0;
    for (size_t offset = 0; offset < info_.size && index < info_.num_entries; ++index) {
      const auto* entry = reinterpret_cast<const typename Family::Entry*>(Entries() + offset);
      std::memcpy(&info->counters[index], &entry->counters, sizeof(xt_counters));
      if (entry->next_offset == 0) return EINVAL;  // never from the kernel, but it would loop forever
      offset += entry->next_offset;
    }
    if (setsockopt(socket_, Family::kSocketLevel, Family::kAddCounters, counters.data(),
                   static_cast<socklen_t>(counters.size())) != 0) {
      return errno;
    }
    return 0;
  }

 private:
  const uint8_t* Entries() const { return entries_.data() + offsetof(typename Family::GetEntries, entrytable); }
  void Close() {
    if (socket_ >= 0) close(socket_);
    socket_ = -1;
  }

  int socket_;
  typename Family::GetInfo info_{};
  std::vector<uint8_t> entries_;
};

}  // namespace bridgewall::iptc
