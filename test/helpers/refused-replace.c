/*
 * LD_PRELOAD shim for test/ownership.test.ts: a kernel that refuses a legacy
 * table replace (IPT_SO_SET_REPLACE, IP6T_SO_SET_REPLACE: socket option 64
 * at SOL_IP and SOL_IPV6) with ENOMEM while the environment variable
 * BRIDGEWALL_REFUSE_REPLACE is set, as it is read at each call (the process
 * sets and unsets it between its calls). Everything else passes untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen) {
  static int (*real)(int, int, int, const void *, socklen_t);
  if ((level == SOL_IP || level == SOL_IPV6) && optname == 64 && getenv("BRIDGEWALL_REFUSE_REPLACE") != NULL) {
    errno = ENOMEM;
    return -1;
  }
  if (!real) real = dlsym(RTLD_NEXT, "setsockopt");
  return real(fd, level, optname, optval, optlen);
}
