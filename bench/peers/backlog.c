/* LD_PRELOAD shim for the bench/ peers whose listen backlog is compiled in (OpenSMTPD's is 5):
 * raises every listen() backlog below MXD_BENCH_BACKLOG (default 128) to that value, so that
 * 50 or 200 simultaneous connections from the load generator are queued rather than dropped. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int listen(int fd, int backlog) {
    static int (*real_listen)(int, int);
    if (real_listen == NULL) real_listen = (int (*)(int, int)) dlsym(RTLD_NEXT, "listen");
    const char *want = getenv("MXD_BENCH_BACKLOG");
    int min = want != NULL ? atoi(want) : 128;
    if (backlog >= 0 && backlog < min) backlog = min;
    return real_listen(fd, backlog);
}
