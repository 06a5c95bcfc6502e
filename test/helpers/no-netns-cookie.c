/*
 * LD_PRELOAD shim for test/ownership.test.ts: a kernel older than 5.14, which
 * has no namespace cookies, emulated: reading SO_NETNS_COOKIE fails with
 * ENOPROTOOPT as it does there. Every other socket option passes untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen) {
  static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
  if (level == SOL_SOCKET && optname == SO_NETNS_COOKIE) {
    errno = ENOPROTOOPT;
    return -1;
  }
  if (!real_getsockopt) real_getsockopt = dlsym(RTLD_NEXT, "getsockopt");
  return real_getsockopt(fd, level, optname, optval, optlen);
}
