/* A test shim, loaded with LD_PRELOAD: shifts the wall clock (CLOCK_REALTIME, time(),
 * gettimeofday()) by the whole seconds written in the file $OUTBOX_CLOCK_OFFSET_FILE, re-read at
 * most every 100 ms, so a test can step a running process's clock forward or back. Monotonic and
 * boot-time clocks are left alone, as NTP leaves them.
 *
 *   cc -shared -fPIC -O2 -o clock-shift.so scripts/clock-shift.c -ldl
 *   echo 518400 > offset; OUTBOX_CLOCK_OFFSET_FILE=offset LD_PRELOAD=./clock-shift.so outboxd …
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static long long offset_seconds;
static long long last_read_ns;

static long long offset(void) {
    struct timespec now;
    real_clock_gettime(CLOCK_MONOTONIC, &now);
    long long ns = now.tv_sec * 1000000000LL + now.tv_nsec;
    if (last_read_ns != 0 && ns - last_read_ns < 100000000LL) return offset_seconds;
    last_read_ns = ns;
    const char *path = getenv("OUTBOX_CLOCK_OFFSET_FILE");
    if (path == NULL) return offset_seconds;
    FILE *file = fopen(path, "re");
    if (file == NULL) return offset_seconds;
    long long value;
    if (fscanf(file, "%lld", &value) == 1) offset_seconds = value;
    fclose(file);
    return offset_seconds;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    if (real_clock_gettime == NULL) real_clock_gettime = dlsym(RTLD_NEXT, "clock_gettime");
    int result = real_clock_gettime(id, ts);
    if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) ts->tv_sec += offset();
    return result;
}

int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec now;
    int result = clock_gettime(CLOCK_REALTIME, &now);
    if (result == 0) {
        tv->tv_sec = now.tv_sec;
        tv->tv_usec = now.tv_nsec / 1000;
    }
    (void)tz;
    return result;
}

time_t time(time_t *out) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (out != NULL) *out = now.tv_sec;
    return now.tv_sec;
}
