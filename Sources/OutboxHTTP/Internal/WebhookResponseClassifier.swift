import CCurl

/// Turns what curl reports for one request into a ``DeliveryResult``.
///
/// - 2xx: delivered.
/// - 410: permanent; the transport disables the endpoint.
/// - 429, 5xx, timeouts, connection and TLS errors: retryable, with `Retry-After` (seconds or
///   an HTTP date) as the hint, capped at `maximumRetryAfter`.
/// - other 4xx: retryable until `maximumClientErrorAttempts`, then permanent.
/// - 3xx (redirects not followed, or too many): permanent.
struct WebhookResponseClassifier: Sendable {
    var maximumClientErrorAttempts: Int
    var maximumRetryAfter: Duration
    var timeoutDescription: String

    /// What an outcome means for the endpoint as a whole.
    enum EndpointSignal: Equatable {
        /// The endpoint answered (success or an error status), or failed in a way that may
        /// concern only this request: keep sending the other messages.
        case healthy
        /// The endpoint cannot be reached at all (connection refused, DNS failure, connect
        /// timeout, address refused by the guard): the messages queued behind skip it.
        case unreachable
        /// The endpoint answered 410 Gone: disable it.
        case gone
    }

    /// Classifies a finished transfer.
    /// - Parameters:
    ///   - curlCode: the transfer's result.
    ///   - status: the HTTP status (0 when none).
    ///   - retryAfterHeader: the `Retry-After` header value, if any.
    ///   - clientErrorAttempts: how many 4xx answers this event got so far, this one included.
    ///   - refusedAddress: set when the private-address guard refused the connection.
    ///   - connected: whether a connection was established (tells connect timeouts apart).
    ///   - now: unix seconds, for HTTP-date hints.
    func classify(
        curlCode: CURLcode,
        status: Int,
        retryAfterHeader: String?,
        clientErrorAttempts: Int,
        refusedAddress: String?,
        connected: Bool = true,
        now: Int64
    ) -> (DeliveryResult, EndpointSignal) {
        // Only a failed transfer was stopped by the guard: with a host resolving to private and
        // public addresses, curl moves on to the next address after a refusal, and a response
        // from the public one is that response.
        if let refusedAddress, curlCode != CURLE_OK {
            return (
                .retryable(
                    "refused to connect to \(refusedAddress): private networks are not allowed "
                        + "(set allow_private_networks to permit)"
                ), .unreachable
            )
        }
        if curlCode != CURLE_OK {
            switch curlCode {
            case CURLE_OPERATION_TIMEDOUT:
                return (
                    .retryable(
                        connected ? "timed out (\(timeoutDescription))" : "timed out connecting (\(timeoutDescription))"
                    ), connected ? .healthy : .unreachable
                )
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
                let text = String(cString: curl_easy_strerror(curlCode))
                return (.retryable("request failed: \(text) (curl code \(curlCode.rawValue))"), .unreachable)
            case CURLE_TOO_MANY_REDIRECTS:
                return (.permanent("too many redirects"), .healthy)
            case CURLE_UNSUPPORTED_PROTOCOL:
                return (.permanent("redirected to a scheme that is not allowed"), .healthy)
            default:
                let text = String(cString: curl_easy_strerror(curlCode))
                return (.retryable("request failed: \(text) (curl code \(curlCode.rawValue))"), .healthy)
            }
        }
        let hint = retryAfterHeader.flatMap { parseRetryAfter($0, now: now) }
        switch status {
        case 200...299:
            return (.delivered, .healthy)
        case 410:
            return (.permanent("endpoint disabled: 410 Gone"), .gone)
        case 429, 502, 503, 504:
            return (.retryable("HTTP \(status)", retryAfter: hint), .healthy)
        case 500...599:
            return (.retryable("HTTP \(status)", retryAfter: hint), .healthy)
        case 400...499:
            if clientErrorAttempts >= maximumClientErrorAttempts {
                return (
                    .permanent(
                        "HTTP \(status) after \(clientErrorAttempts) attempt\(clientErrorAttempts == 1 ? "" : "s")"
                    ), .healthy
                )
            }
            return (
                .retryable(
                    "HTTP \(status) (attempt \(clientErrorAttempts) of \(maximumClientErrorAttempts))",
                    retryAfter: hint
                ), .healthy
            )
        case 300...399:
            return (.permanent("HTTP \(status) redirect not followed (follow_redirects is off)"), .healthy)
        default:
            return (.retryable("unexpected HTTP status \(status)"), .healthy)
        }
    }

    /// Parses `Retry-After`: a number of seconds, or an HTTP date (RFC 9110 §10.2.3).
    /// Returns `nil` for text that is neither; the result is capped at `maximumRetryAfter`.
    func parseRetryAfter(_ text: String, now: Int64) -> Duration? {
        let trimmed = text.trimmingASCIISpaces()
        if !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            guard let seconds = Int64(trimmed) else { return maximumRetryAfter }
            return min(.seconds(seconds), maximumRetryAfter)
        }
        let date = curl_getdate(trimmed, nil)
        guard date >= 0 else { return nil }
        let seconds = max(0, Int64(date) - now)
        return min(.seconds(seconds), maximumRetryAfter)
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
