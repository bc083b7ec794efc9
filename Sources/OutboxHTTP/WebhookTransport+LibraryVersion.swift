import CCurl

extension WebhookTransport {
    /// The version of libcurl this process runs with and its TLS library (`curl_version()`),
    /// e.g. `libcurl/7.88.1 OpenSSL/3.0.11 zlib/1.2.13`.
    public static var libraryVersion: String { String(cString: curl_version()) }
}
