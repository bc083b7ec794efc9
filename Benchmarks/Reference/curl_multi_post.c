/*
 * curl_multi_post: the reference for the webhook benchmark. A minimal libcurl multi
 * program that POSTs the same bodies the relay sends, with the same concurrency, over
 * reused connections, and prints its throughput.
 *
 *   curl_multi_post URL BODIES_FILE COUNT CONCURRENCY
 *
 * BODIES_FILE holds one JSON body per line; request i sends line (i mod lines). Headers:
 * content-type, webhook-id, webhook-timestamp, webhook-signature (a fixed value: no HMAC is
 * computed here) and an empty Expect:, like the relay. Exits non-zero if any response is
 * not 2xx. Output (one line): requests=N seconds=S msgs_per_s=R failed=F cpu_us_per_msg=C
 * (C = user + system CPU time of this process per request).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

struct body { char *data; size_t length; };

static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data; (void)user;
    return size * count;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct slot { CURL *easy; struct curl_slist *headers; };

static void start_request(CURLM *multi, struct slot *slot, const struct body *body, long index) {
    char line[160];
    curl_slist_free_all(slot->headers);
    slot->headers = NULL;
    slot->headers = curl_slist_append(slot->headers, "content-type: application/json");
    snprintf(line, sizeof line, "webhook-id: 00000000-0000-4000-8000-%012ld", index);
    slot->headers = curl_slist_append(slot->headers, line);
    snprintf(line, sizeof line, "webhook-timestamp: %ld", (long)time(NULL));
    slot->headers = curl_slist_append(slot->headers, line);
    slot->headers = curl_slist_append(slot->headers, "webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    slot->headers = curl_slist_append(slot->headers, "Expect:");
    curl_easy_setopt(slot->easy, CURLOPT_HTTPHEADER, slot->headers);
    curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->length);
    curl_easy_setopt(slot->easy, CURLOPT_POSTFIELDS, body->data);
    curl_multi_add_handle(multi, slot->easy);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s URL BODIES_FILE COUNT CONCURRENCY\n", argv[0]);
        return 2;
    }
    const char *url = argv[1];
    long count = atol(argv[3]);
    int concurrency = atoi(argv[4]);

    FILE *file = fopen(argv[2], "rb");
    if (!file) { perror("bodies file"); return 2; }
    struct body *bodies = NULL;
    size_t body_count = 0, capacity = 0;
    char *line = NULL; size_t line_capacity = 0; ssize_t length;
    while ((length = getline(&line, &line_capacity, file)) > 0) {
        if (line[length - 1] == '\n') line[--length] = 0;
        if (length == 0) continue;
        if (body_count == capacity) { capacity = capacity ? capacity * 2 : 1024; bodies = realloc(bodies, capacity * sizeof *bodies); }
        bodies[body_count].data = malloc(length);
        memcpy(bodies[body_count].data, line, length);
        bodies[body_count].length = length;
        body_count++;
    }
    free(line);
    fclose(file);
    if (body_count == 0) { fprintf(stderr, "no bodies\n"); return 2; }

    curl_global_init(CURL_GLOBAL_ALL);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)concurrency);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)concurrency);
    struct slot *slots = calloc(concurrency, sizeof *slots);
    struct slot **idle = calloc(concurrency, sizeof *idle);
    int idle_count = 0;
    for (int i = 0; i < concurrency; i++) {
        CURL *easy = curl_easy_init();
        curl_easy_setopt(easy, CURLOPT_URL, url);
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, &slots[i]);
        slots[i].easy = easy;
        idle[idle_count++] = &slots[i];
    }

    long started = 0, finished = 0, failed = 0;
    double begin = now_seconds();
    while (finished < count) {
        while (idle_count > 0 && started < count) {
            start_request(multi, idle[--idle_count], &bodies[started % body_count], started);
            started++;
        }
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *message;
        int queued;
        while ((message = curl_multi_info_read(multi, &queued))) {
            if (message->msg != CURLMSG_DONE) continue;
            CURL *easy = message->easy_handle;
            CURLcode result = message->data.result;
            long status = 0;
            struct slot *slot;
            curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&slot);
            curl_multi_remove_handle(multi, easy);
            if (result != CURLE_OK || status < 200 || status > 299) failed++;
            finished++;
            idle[idle_count++] = slot;
        }
        if (idle_count > 0 && started < count) continue;
        curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    double seconds = now_seconds() - begin;
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu_us = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    printf("requests=%ld seconds=%.3f msgs_per_s=%.0f failed=%ld cpu_us_per_msg=%.1f\n", finished, seconds, finished / seconds, failed, cpu_us / finished);
    for (int i = 0; i < concurrency; i++) { curl_slist_free_all(slots[i].headers); curl_easy_cleanup(slots[i].easy); }
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
