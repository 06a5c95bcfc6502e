/*
 * The kernel's floor for any change to legacy iptables tables: x_tables
 * replaces a table whole, so a change to a table costs at least reading it
 * (IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES) and replacing it
 * (IPT_SO_SET_REPLACE). This program does exactly that for each IPv4 table
 * named, replacing each with what it read, in the calling process's network
 * namespace, REPS times, and prints the median milliseconds of one round
 * (every table once), its own clock, no process start.
 * Usage: replace-tables REPS TABLE...   (bench/main.ts builds and runs it)
 */
#include <linux/netfilter_ipv4/ip_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

/* Reads `name` and replaces it with what was read; 0 or -1 with errno. */
static int read_and_replace(int fd, const char* name) {
  struct ipt_getinfo info = {0};
  strncpy(info.name, name, sizeof(info.name) - 1);
  socklen_t length = sizeof(info);
  if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &length) != 0) return -1;
  struct ipt_get_entries* entries = calloc(1, sizeof(*entries) + info.size);
  struct ipt_replace* replace = calloc(1, sizeof(*replace) + info.size);
  struct xt_counters* counters = calloc(info.num_entries ? info.num_entries : 1, sizeof(*counters));
  int result = -1;
  if (!entries || !replace || !counters) goto done;
  memcpy(entries->name, info.name, sizeof(entries->name));
  entries->size = info.size;
  length = sizeof(*entries) + info.size;
  if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, entries, &length) != 0) goto done;
  memcpy(replace->name, info.name, sizeof(replace->name));
  replace->valid_hooks = info.valid_hooks;
  replace->num_entries = info.num_entries;
  replace->size = info.size;
  memcpy(replace->hook_entry, info.hook_entry, sizeof(info.hook_entry));
  memcpy(replace->underflow, info.underflow, sizeof(info.underflow));
  replace->num_counters = info.num_entries;
  replace->counters = counters;
  memcpy(replace->entries, entries->entrytable, info.size);
  result = setsockopt(fd, IPPROTO_IP, IPT_SO_SET_REPLACE, replace, sizeof(*replace) + info.size);
done:
  free(entries);
  free(replace);
  free(counters);
  return result;
}

int main(int argc, char** argv) {
  int reps = argc > 2 ? atoi(argv[1]) : 0;
  if (reps < 1 || reps > 100) {
    fprintf(stderr, "usage: %s REPS(1-100) TABLE...\n", argv[0]);
    return 2;
  }
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  double samples[100];
  for (int rep = 0; rep < reps; rep++) {
    double start = now_ms();
    for (int i = 2; i < argc; i++) {
      if (read_and_replace(fd, argv[i]) != 0) {
        perror(argv[i]);
        return 1;
      }
    }
    samples[rep] = now_ms() - start;
  }
  qsort(samples, reps, sizeof(samples[0]), compare);
  printf("%.2f\n", samples[reps / 2]);
  close(fd);
  return 0;
}
