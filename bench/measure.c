/* measure.c -- tiny launcher used by bench/bench.py.
 *
 *   measure RESULTFILE PROGRAM [ARGS...]
 *
 * Forks, execs PROGRAM, waits with wait4() and writes one line to RESULTFILE:
 *   "<wall_ns> <user_us> <sys_us> <maxrss_kb> <exit_code>"
 * user/sys include every descendant the child waited for. maxrss is the
 * largest single process RSS in the tree (the kernel propagates cmaxrss).
 * It exists because forking from Python would charge Python's own RSS
 * high-water mark to the child: exec_mmap() records the pre-exec mm's peak
 * in signal->maxrss.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: measure RESULTFILE PROGRAM [ARGS...]\n");
        return 125;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 125; }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        perror("exec");
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) { perror("wait4"); return 125; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long wall = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    FILE *f = fopen(argv[1], "w");
    if (!f) { perror(argv[1]); return 125; }
    fprintf(f, "%lld %lld %lld %ld %d\n", wall,
            (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
            (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec,
            ru.ru_maxrss, code);
    fclose(f);
    return code;
}
