// The lock iptables takes around every change (/run/xtables.lock, or
// $XTABLES_LOCKFILE). Holding it from libiptc's snapshot to its commit keeps
// this library and concurrent `iptables` commands from overwriting each other's
// changes: libiptc replaces whole tables, so an unlocked commit loses theirs.
#pragma once

#include <string>

namespace bridgewall::iptc {

class XtablesLock {
 public:
  // Takes an exclusive flock on `path` (created 0600 if missing), retrying for
  // up to `timeout_ms`; fails with EBUSY when it stays held.
  XtablesLock(const std::string& path, unsigned int timeout_ms);
  ~XtablesLock();
  XtablesLock(const XtablesLock&) = delete;
  XtablesLock& operator=(const XtablesLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace bridgewall::iptc
