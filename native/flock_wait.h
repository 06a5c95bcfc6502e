// Waiting for an exclusive flock: the xtables lock and the owner record's
// lock both take theirs by polling (two descriptors of one process exclude
// each other too, and a blocking flock could not give up at a deadline).
#pragma once

#include <chrono>

namespace bridgewall {

// Takes an exclusive flock on `fd`, trying again every `retry` until
// `deadline`: 0 once held, EWOULDBLOCK when still held by another at the
// deadline, or the errno of any other failure.
int FlockBefore(int fd, std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds retry);

}  // namespace bridgewall
