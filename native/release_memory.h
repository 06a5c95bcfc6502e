// Giving freed memory back to the system after a large transaction.
//
// A batch of 100,000 port mappings is encoded into tens of megabytes on a
// libuv worker thread. glibc keeps what a worker thread frees in that
// thread's arena, and raises its mmap threshold after the first large free,
// so without this the process keeps the high-water mark of its largest
// commit as resident memory for good.
#pragma once

#include <cstddef>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace bridgewall {

// Below this, what a transaction frees is left to the allocator to reuse.
constexpr size_t kReleaseThreshold = 1 << 20;

inline void ReleaseFreedMemory(size_t freed_bytes) {
#ifdef __GLIBC__
  if (freed_bytes >= kReleaseThreshold) malloc_trim(0);
#else
  (void)freed_bytes;
#endif
}

}  // namespace bridgewall
