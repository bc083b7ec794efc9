#pragma once
#include <curl/curl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>

// Swift cannot call C variadic functions. These typed wrappers cover every
// curl_easy_setopt / curl_multi_setopt / curl_easy_getinfo form OutboxHTTP uses;
// each passes exactly the argument type libcurl documents for the option.

/// Write callback: (data, size, nmemb, userdata) -> bytes consumed.
typedef size_t (*ccurl_write_callback)(char *data, size_t size, size_t nmemb, void *userdata);

static inline CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// For string options (libcurl copies them, except CURLOPT_POSTFIELDS).
static inline CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// For CURLOPT_POSTFIELDS (not copied: the buffer must outlive the transfer),
/// CURLOPT_PRIVATE, CURLOPT_WRITEDATA, CURLOPT_OPENSOCKETDATA.
static inline CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_easy_setopt_write_function(CURL *handle, ccurl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode ccurl_easy_setopt_opensocket_function(CURL *handle, curl_opensocket_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, callback);
}

static inline CURLMcode ccurl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

static inline CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

/// The result code of a finished transfer (a member of an anonymous union in CURLMsg).
static inline CURLcode ccurl_message_result(const CURLMsg *message) {
    return message->data.result;
}

/// Copies the raw IP address out of a curl_sockaddr: 4 bytes for AF_INET, 16 for AF_INET6.
/// Returns the number of bytes written (0 for other families).
static inline int ccurl_sockaddr_ip(const struct curl_sockaddr *address, unsigned char *out16) {
    if (address->family == AF_INET && address->addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&address->addr;
        memcpy(out16, &v4->sin_addr, 4);
        return 4;
    }
    if (address->family == AF_INET6 && address->addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&address->addr;
        memcpy(out16, &v6->sin6_addr, 16);
        return 16;
    }
    return 0;
}

/// Opens the socket curl asked for (what libcurl does when no callback is set).
static inline curl_socket_t ccurl_open_socket(const struct curl_sockaddr *address) {
    return socket(address->family, address->socktype, address->protocol);
}

/// CURL_REDIR_POST_ALL is a macro expression Swift does not import.
static const long ccurl_redirect_post_all = CURL_REDIR_POST_ALL;

static inline CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
