import CCurl

/// A webhook URL parsed by libcurl's URL parser, with a form that is safe to log.
struct WebhookURL: Sendable, Hashable {
    /// The URL as configured (may hold credentials: never log it).
    let text: String
    /// `http` or `https`.
    let scheme: String
    /// The host name or address literal.
    let host: String
    /// The port, explicit or the scheme's default.
    let port: Int
    /// `scheme://host[:port]`, plus `/…` when the URL has a path or query: webhook URLs carry
    /// tokens in their paths (Slack's `/services/T…/B…/XXXX`) and queries, so neither is shown.
    let redacted: String

    var isHTTPS: Bool { scheme == "https" }

    /// `scheme://host:port`, lower-cased: what decides whether a redirect leaves the endpoint's
    /// origin. Safe to log.
    var origin: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart.lowercased()):\(port)"
    }

    /// Parses and checks a URL.
    /// - Throws: ``WebhookTransportError`` `.invalidURL` (the message holds only the redacted form).
    init(_ text: String) throws(WebhookTransportError) {
        guard let handle = curl_url() else {
            throw WebhookTransportError(code: .curlUnavailable, message: "libcurl could not allocate a URL parser")
        }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, text, 0) == CURLUE_OK else {
            throw WebhookTransportError(
                code: .invalidURL,
                message: "the webhook URL is not a valid absolute URL (\(Self.roughRedaction(text)))"
            )
        }
        func part(_ which: CURLUPart, flags: UInt32 = 0) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &value, flags) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }
        let scheme = (part(CURLUPART_SCHEME) ?? "").lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw WebhookTransportError(
                code: .invalidURL,
                message: "the webhook URL must start with https:// or http:// (\(Self.roughRedaction(text)))"
            )
        }
        guard let host = part(CURLUPART_HOST), !host.isEmpty else {
            throw WebhookTransportError(
                code: .invalidURL,
                message: "the webhook URL has no host (\(Self.roughRedaction(text)))"
            )
        }
        let port =
            part(CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT)).flatMap { Int($0) }
            ?? (scheme == "https" ? 443 : 80)
        var redacted = "\(scheme)://\(host)"
        if let explicitPort = part(CURLUPART_PORT) { redacted += ":\(explicitPort)" }
        let path = part(CURLUPART_PATH) ?? "/"
        let query = part(CURLUPART_QUERY) ?? ""
        if path != "/" || !query.isEmpty { redacted += "/…" }
        self.text = text
        self.scheme = scheme
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.redacted = redacted
    }

    /// A redaction for text libcurl could not parse: drops everything after the host part.
    static func roughRedaction(_ text: String) -> String {
        var rest = Substring(text)
        var prefix = ""
        if let range = rest.firstRange(of: "://") {
            prefix = String(rest[..<range.upperBound])
            rest = rest[range.upperBound...]
        }
        if let at = rest.firstIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        let hostPart = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return prefix + hostPart + (hostPart.count < rest.count ? "/…" : "")
    }
}
