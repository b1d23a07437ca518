/* bench/curl-floor.c: the cost floor of sending through libcurl's easy interface, with no queue.
 * T threads, each with one reused easy handle (so one SMTP connection), send N/T copies of a
 * ~2.1 KB message to URL; prints the rate. With "multi" as a fourth argument, one thread drives T
 * handles through one curl multi handle instead (the design a next step could take). Compare the
 * CPU time per message (time(1)) with outboxd's (bench/RESULTS.md, "Why 30 % of the limit is out
 * of reach this way").
 *
 *   gcc -O2 -o /tmp/curl-floor bench/curl-floor.c -lcurl -lpthread
 *   /usr/bin/time -f '%U user %S sys' /tmp/curl-floor smtp://127.0.0.1:PORT/bench 10000 8 [multi]
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

static void configure(CURL *curl, struct curl_slist *recipients, struct reader *reader) {
    reader->offset = 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, "<sender@bench.localdomain>");
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, reader);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE, (long)body_length);
}

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
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    for (int i = 0; i < per_thread; i++) {
        struct reader reader;
        configure(curl, recipients, &reader);
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

/* One thread, `handles` connections: a finished transfer is re-armed at once with the next message. */
static int send_all_multi(int total, int handles) {
    CURLM *multi = curl_multi_init();
    CURL *curl[64];
    struct reader reader[64];
    struct curl_slist *recipients = curl_slist_append(NULL, "<rcpt@example.com>");
    int started = 0, finished = 0, running = 0;
    for (int i = 0; i < handles && started < total; i++, started++) {
        curl[i] = curl_easy_init();
        curl_easy_setopt(curl[i], CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(curl[i], CURLOPT_PRIVATE, (void *)(long)i);
        configure(curl[i], recipients, &reader[i]);
        curl_multi_add_handle(multi, curl[i]);
    }
    while (finished < total) {
        curl_multi_perform(multi, &running);
        CURLMsg *message;
        int left;
        while ((message = curl_multi_info_read(multi, &left))) {
            if (message->msg != CURLMSG_DONE) continue;
            if (message->data.result != CURLE_OK) {
                fprintf(stderr, "curl-floor: %s\n", curl_easy_strerror(message->data.result));
                exit(1);
            }
            finished++;
            CURL *done = message->easy_handle;
            long index;
            curl_easy_getinfo(done, CURLINFO_PRIVATE, (char **)&index);
            curl_multi_remove_handle(multi, done);
            if (started < total) {
                started++;
                configure(done, recipients, &reader[index]);
                curl_multi_add_handle(multi, done);
            }
        }
        if (finished < total) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    return finished;
}

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 5 && strcmp(argv[4], "multi") == 0)) {
        fprintf(stderr, "usage: curl-floor URL N THREADS [multi]\n");
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
    if (argc == 5) {
        send_all_multi(per_thread * threads, threads);
    } else {
        for (int i = 0; i < threads; i++) pthread_create(&thread[i], NULL, send_all, NULL);
        for (int i = 0; i < threads; i++) pthread_join(thread[i], NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    printf("curl-floor: %s messages=%d connections=%d seconds=%.2f msgs_per_s=%.0f\n", argc == 5 ? "multi" : "threads", per_thread * threads, threads, seconds,
           per_thread * threads / seconds);
    return 0;
}
