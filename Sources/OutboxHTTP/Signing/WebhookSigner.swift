/// Signs webhook requests the Standard Webhooks way (<https://www.standardwebhooks.com>).
///
/// The signed content is `"<webhook-id>.<webhook-timestamp>.<body>"`; the `webhook-signature`
/// header carries one `v1,<base64 HMAC-SHA256>` entry per secret, separated by spaces, so
/// receivers can rotate secrets: configure the new secret next to the old one, switch the
/// receiver, then remove the old one.
public struct WebhookSigner: Sendable {
    private let keys: [HMACSHA256]

    /// The number of secrets this signer signs with.
    public var secretCount: Int { keys.count }

    /// Prepares secrets written as `whsec_<base64>` (the prefix is optional).
    ///
    /// The key is the base64-decoded part after `whsec_`, as every Standard Webhooks library
    /// reads it.
    /// - Throws: ``WebhookTransportError`` with code `.invalidSecret` when a secret is not
    ///   base64 or shorter than 16 bytes. The message never contains the secret.
    public init(secrets: [String]) throws(WebhookTransportError) {
        var keys: [HMACSHA256] = []
        for (index, secret) in secrets.enumerated() {
            let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
            guard let key = Base64.decode(encoded), !encoded.isEmpty else {
                throw WebhookTransportError(
                    code: .invalidSecret,
                    message: "signing secret #\(index + 1) is not `whsec_` followed by base64"
                )
            }
            guard key.count >= 16 else {
                throw WebhookTransportError(
                    code: .invalidSecret,
                    message:
                        "signing secret #\(index + 1) decodes to \(key.count) bytes; use at least 16 "
                        + "(Standard Webhooks recommends 24–64)"
                )
            }
            keys.append(HMACSHA256(key: key))
        }
        self.keys = keys
    }

    /// The `webhook-signature` header value for one request: `v1,<sig>` per secret, space-separated.
    /// Empty when there are no secrets.
    public func signature(id: String, timestamp: Int64, body: UnsafeRawBufferPointer) -> String {
        var prefix = Array(id.utf8)
        prefix.append(UInt8(ascii: "."))
        prefix.append(contentsOf: String(timestamp).utf8)
        prefix.append(UInt8(ascii: "."))
        return prefix.withUnsafeBytes { prefixBytes in
            var header = ""
            for key in keys {
                if !header.isEmpty { header.append(" ") }
                header.append("v1,")
                header.append(Base64.encode(key.authenticationCode(forParts: [prefixBytes, body])))
            }
            return header
        }
    }

    /// The `webhook-signature` header value for one request with the body given as bytes.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        body.withUnsafeBytes { signature(id: id, timestamp: timestamp, body: $0) }
    }
}
