/* bench/curl-floor.c: the cost floor of sending through libcurl's easy interface, with no queue.
 * T threads, each with one reused easy handle (so one SMTP connection), send N/T copies of a
 * ~2.1 KB message to URL; prints the rate. Compare its CPU time per message (time(1)) with
 * outboxd's (bench/RESULTS.md, "Why 30 % of the limit is out of reach this way").
 *
 *   gcc -O2 -o /tmp/curl-floor bench/curl-floor.c -lcurl -lpthread
 *   /usr/bin/time -f '%U user %S sys' /tmp/curl-floor smtp://127.0.0.1:PORT/bench 10000 8
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char body[2200];
static size_t body_length;
static const char *url;
static int per_thread;

struct reader { size_t offset; };

static size_t read_body(char *buffer, size_t size, size_t count, void *userdata) {
    struct reader *reader = userdata;
    size_t left = body_length - reader->offset, n = size * count < left ? size * count : left;
    memcpy(buffer, body + reader->offset, n);
    reader->offset += n;
    return n;
}

static void *send_all(void *unused) {
    (void)unused;
    CURL *curl = curl_easy_init();
    struct curl_slist *recipients = curl_slist_append(NULL, "<rcpt@example.com>");
    for (int i = 0; i < per_thread; i++) {
        struct reader reader = {0};
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_MAIL_FROM, "<sender@bench.localdomain>");
        curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE, (long)body_length);
        CURLcode code = curl_easy_perform(curl);
        if (code != CURLE_OK) {
            fprintf(stderr, "curl-floor: %s\n", curl_easy_strerror(code));
            exit(1);
        }
    }
    curl_slist_free_all(recipients);
    curl_easy_cleanup(curl);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: curl-floor URL N THREADS\n");
        return 64;
    }
    url = argv[1];
    int n = atoi(argv[2]), threads = atoi(argv[3]);
    if (n < 1 || threads < 1 || threads > 64) return 64;
    per_thread = n / threads;
    char *p = body + sprintf(body, "From: sender@bench.localdomain\r\nTo: rcpt@example.com\r\nSubject: floor\r\n\r\n");
    for (int i = 0; i < 25; i++) {
        memset(p, '0', 79);
        p += 79;
        *p++ = '\r';
        *p++ = '\n';
    }
    body_length = (size_t)(p - body);
    curl_global_init(CURL_GLOBAL_ALL);
    pthread_t thread[64];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < threads; i++) pthread_create(&thread[i], NULL, send_all, NULL);
    for (int i = 0; i < threads; i++) pthread_join(thread[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("curl-floor: messages=%d threads=%d seconds=%.2f msgs_per_s=%.0f\n", per_thread * threads, threads, seconds,
           per_thread * threads / seconds);
    return 0;
}
