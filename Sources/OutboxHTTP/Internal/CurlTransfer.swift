import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One reusable curl easy handle with the buffers of the request it is sending.
///
/// Owned by the ``CurlMultiLoop`` thread. The endpoint settings are applied once when the
/// handle is created; each request only sets its body and header list. The body is copied
/// into memory owned here because libcurl reads `CURLOPT_POSTFIELDS` without copying it.
final class CurlTransfer {
    let easy: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var body: UnsafeMutableRawBufferPointer?
    /// Set by the open-socket callback when the private-address guard refused a connection.
    var refusedAddress: String?
    /// Where the result goes: the batch, and the message index in it.
    var batch: PendingBatch?
    var index = 0
    var orderingKey = ""
    /// The endpoint URL, which every request starts at.
    private let endpointURL: String
    /// The URL of the request in flight: the endpoint, or where redirects led.
    private(set) var currentURL: String
    /// Redirects this request followed (see ``WebhookRedirectPolicy``).
    private(set) var redirectsFollowed = 0
    /// The header lines of the request in flight.
    private var headerLines: [String] = []

    init?(settings: CurlEndpointSettings) {
        guard let easy = curl_easy_init() else { return nil }
        self.easy = easy
        self.endpointURL = settings.url
        self.currentURL = settings.url
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = ccurl_easy_setopt_pointer(easy, CURLOPT_PRIVATE, me)
        guard settings.apply(to: easy, transfer: me) else {
            curl_easy_cleanup(easy)
            return nil
        }
    }

    /// Prepares a request's body: copies it into memory that lives until ``releaseRequest()``.
    func prepare(body bytes: [UInt8]) {
        releaseRequest()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { source in
            if !source.isEmpty { buffer.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: source.count) }
        }
        body = buffer
        refusedAddress = nil
        redirectsFollowed = 0
        if currentURL != endpointURL {
            currentURL = endpointURL
            _ = ccurl_easy_setopt_string(easy, CURLOPT_URL, endpointURL)
        }
        _ = ccurl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
        _ = ccurl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, buffer.baseAddress)
    }

    /// Sets the request headers (`name: value` lines; libcurl copies each into its list).
    func setHeaders(_ headers: [String]) {
        if let headerList { curl_slist_free_all(headerList) }
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers {
            list = curl_slist_append(list, header)
        }
        headerList = list
        headerLines = headers
        _ = ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
    }

    /// Where the finished 3xx answer redirects to (absolute), if it names a location.
    var redirectTarget: String? {
        var value: UnsafeMutablePointer<CChar>?
        guard ccurl_easy_getinfo_string(easy, CURLINFO_REDIRECT_URL, &value) == CURLE_OK, let value else { return nil }
        return String(cString: value)
    }

    /// Points the same request (body, signature) at `url`, without the header lines in
    /// `droppedHeaders`; the caller adds the handle to the multi handle again.
    func redirect(to url: String, dropping droppedHeaders: [String]) -> Bool {
        guard ccurl_easy_setopt_string(easy, CURLOPT_URL, url) == CURLE_OK else { return false }
        currentURL = url
        redirectsFollowed += 1
        refusedAddress = nil
        if !droppedHeaders.isEmpty {
            let dropped = Set(droppedHeaders)
            setHeaders(headerLines.filter { !dropped.contains($0) })
        }
        return true
    }

    /// The body bytes of the prepared request (valid until ``releaseRequest()``).
    var bodyBytes: UnsafeRawBufferPointer {
        guard let body else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(body)
    }

    /// Frees the body and headers of the last request.
    func releaseRequest() {
        if let headerList {
            _ = ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, nil)
            curl_slist_free_all(headerList)
            self.headerList = nil
        }
        if let body {
            _ = ccurl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, nil)
            body.deallocate()
            self.body = nil
        }
        batch = nil
    }

    /// The HTTP status of the finished request (0 when none was received).
    var responseCode: Int {
        var code = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    /// How many new connections the finished request opened (0: it reused one, or got none).
    var connectionsOpened: Int {
        var count = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &count)
        return max(0, count)
    }

    /// Whether the finished request got as far as an established connection.
    var wasConnected: Bool {
        var connectTime: curl_off_t = 0
        var pretransferTime: curl_off_t = 0
        _ = ccurl_easy_getinfo_off_t(easy, CURLINFO_CONNECT_TIME_T, &connectTime)
        _ = ccurl_easy_getinfo_off_t(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransferTime)
        return connectTime > 0 || pretransferTime > 0
    }

    /// A response header of the finished request (the last response, after redirects).
    func responseHeader(_ name: String) -> String? {
        var header: UnsafeMutablePointer<curl_header>?
        guard curl_easy_header(easy, name, 0, UInt32(CURLH_HEADER), -1, &header) == CURLHE_OK,
            let header, let value = header.pointee.value
        else { return nil }
        return String(cString: value)
    }

    deinit {
        releaseRequest()
        curl_easy_cleanup(easy)
    }
}

/// The per-endpoint easy-handle options, applied once per handle.
struct CurlEndpointSettings: Sendable {
    var url: String
    var connectTimeoutMilliseconds: Int
    var totalTimeoutMilliseconds: Int
    /// Set when 3xx answers are followed.
    var redirectPolicy: WebhookRedirectPolicy?
    var caFile: String?
    var httpsOnly: Bool
    var guardPrivateAddresses: Bool
    var userAgent: String

    /// Applies the options; `false` when libcurl rejected one (e.g. an unsupported protocol list).
    func apply(to easy: UnsafeMutableRawPointer, transfer: UnsafeMutableRawPointer) -> Bool {
        var ok = true
        func check(_ code: CURLcode) { if code != CURLE_OK { ok = false } }
        check(ccurl_easy_setopt_string(easy, CURLOPT_URL, url))
        check(ccurl_easy_setopt_long(easy, CURLOPT_POST, 1))
        check(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMilliseconds))
        check(ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, totalTimeoutMilliseconds))
        check(ccurl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS))
        check(ccurl_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1))
        check(ccurl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        check(ccurl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1))
        let protocols = httpsOnly ? "https" : "http,https"
        check(ccurl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, protocols))
        check(ccurl_easy_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, protocols))
        // Redirects are followed by CurlMultiLoop under WebhookRedirectPolicy, never by libcurl.
        check(ccurl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1))
        check(ccurl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile { check(ccurl_easy_setopt_string(easy, CURLOPT_CAINFO, caFile)) }
        // Environment proxies would bypass the address guard and leak bodies to a third party.
        check(ccurl_easy_setopt_string(easy, CURLOPT_PROXY, ""))
        check(ccurl_easy_setopt_string(easy, CURLOPT_USERAGENT, userAgent))
        check(ccurl_easy_setopt_write_function(easy, discardResponseBody))
        if guardPrivateAddresses {
            check(ccurl_easy_setopt_opensocket_function(easy, PrivateAddressGuard.openSocket))
            check(ccurl_easy_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, transfer))
        }
        return ok
    }
}

/// Response bodies are not used: acknowledge and drop them.
private let discardResponseBody: ccurl_write_callback = { _, size, count, _ in size * count }
