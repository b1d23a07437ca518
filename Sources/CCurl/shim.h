/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call.
 * One typed static inline wrapper per argument type, nothing more
 * (the shape of swift-corelibs-foundation's CFURLSessionInterface). */
#include <curl/curl.h>

typedef size_t (*outbox_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);
typedef int (*outbox_curl_xferinfo_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                             curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode outbox_curl_set_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
/* libcurl copies string arguments (CURLOPT_* "strings are copied" since 7.17.0). */
static inline CURLcode outbox_curl_set_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
/* Pointers that libcurl does NOT copy: the caller keeps them alive for the handle's lifetime. */
static inline CURLcode outbox_curl_set_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode outbox_curl_set_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode outbox_curl_set_data_callback(CURL *h, CURLoption o, outbox_curl_data_callback f) { return curl_easy_setopt(h, o, f); }
static inline CURLcode outbox_curl_set_xferinfo_callback(CURL *h, outbox_curl_xferinfo_callback f) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f); }
static inline CURLcode outbox_curl_get_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }

/* CURLOPT_MAIL_RCPT_ALLLOWFAILS is the 7.88 spelling (three L's); later versions add ALLOWFAILS. */
static const CURLoption outbox_curlopt_mail_rcpt_allowfails = CURLOPT_MAIL_RCPT_ALLLOWFAILS;

typedef int (*outbox_curl_debug_callback)(CURL *handle, curl_infotype type, char *data, size_t size, void *userdata);
static inline CURLcode outbox_curl_set_debug_callback(CURL *h, outbox_curl_debug_callback f) { return curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, f); }

/* CURLINFO_CERTINFO: the server's certificate chain as text, one curl_slist of "Name:value" per certificate. */
static inline CURLcode outbox_curl_get_certinfo(CURL *h, struct curl_certinfo **v) { return curl_easy_getinfo(h, CURLINFO_CERTINFO, v); }
