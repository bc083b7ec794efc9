import Testing

@testable import OutboxHTTP

@Suite("Signing: SHA-256, HMAC-SHA256 (RFC 4231), Standard Webhooks")
struct SigningTests {
    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }.joined()
    }

    @Test(
        "SHA-256 FIPS 180-4 examples",
        arguments: [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
    )
    func sha256(message: String, digest: String) {
        #expect(hex(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test("SHA-256 of one million 'a', fed in uneven chunks")
    func sha256MillionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))) == expected)
        var hasher = SHA256()
        var fed = 0
        var chunk = 1
        while fed < 1_000_000 {
            let size = min(chunk, 1_000_000 - fed)
            hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: size))
            fed += size
            chunk = chunk % 131 + 7
        }
        #expect(hex(hasher.finalize()) == expected)
    }

    @Test("SHA-256 lengths around the padding boundary match a byte-at-a-time hash")
    func sha256PaddingBoundaries() {
        for length in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var byteWise = SHA256()
            for byte in message { byteWise.update([byte]) }
            #expect(hex(byteWise.finalize()) == hex(SHA256.hash(message)), "length \(length)")
        }
    }

    @Test(
        "HMAC-SHA256 RFC 4231 test cases",
        arguments: [
            (
                [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
            ),
            (
                Array(1...25), [UInt8](repeating: 0xcd, count: 50),
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131),
                Array(
                    """
                    This is a test using a larger than block-size key and a larger than block-size data. \
                    The key needs to be hashed before being used by the HMAC algorithm.
                    """
                    .utf8
                ), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            ),
        ] as [([UInt8], [UInt8], String)]
    )
    func hmac(key: [UInt8], message: [UInt8], expected: String) {
        #expect(hex(HMACSHA256.authenticationCode(key: key, message: message)) == expected)
    }

    @Test("HMAC-SHA256 RFC 4231 test case 5 (truncated to 128 bits)")
    func hmacTruncated() {
        let code = HMACSHA256.authenticationCode(
            key: [UInt8](repeating: 0x0c, count: 20),
            message: Array("Test With Truncation".utf8)
        )
        #expect(hex(Array(code.prefix(16))) == "a3b6167473100ee06e0c796c2955552b")
    }

    @Test("Base64 round trips and RFC 4648 examples")
    func base64() {
        let examples = [
            "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
            "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in examples {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base64.decode("Zm9v!") == nil)
        #expect(Base64.decode("Z") == nil)
        #expect(Base64.decode("Zg==Zg") == nil)
    }

    // The vector every Standard Webhooks library tests its `sign` against
    // (libraries/*/tests in github.com/standard-webhooks/standard-webhooks).
    @Test("Standard Webhooks signing vector")
    func standardWebhooksVector() throws {
        let signer = try WebhookSigner(secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        let signature = signer.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8)
        )
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        // The libraries accept the secret without its prefix, too.
        let unprefixed = try WebhookSigner(secrets: ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
        #expect(
            unprefixed.signature(
                id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
                timestamp: 1_614_265_330,
                body: Array(#"{"test": 2432232314}"#.utf8)
            ) == signature
        )
        // A different timestamp or body gives a different signature.
        #expect(
            signer.signature(
                id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
                timestamp: 1_614_265_331,
                body: Array(#"{"test": 2432232314}"#.utf8)
            ) != signature
        )
    }

    @Test("Several secrets give one v1 entry each, space-separated, in configured order")
    func rotation() throws {
        let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let new = "whsec_" + Base64.encode([UInt8](repeating: 7, count: 32))
        let both = try WebhookSigner(secrets: [new, old])
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let parts = both.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body).split(
            separator: " "
        ).map(String.init)
        #expect(parts.count == 2)
        #expect(parts[1] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(
            parts[0]
                == (try WebhookSigner(secrets: [new])).signature(
                    id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
                    timestamp: 1_614_265_330,
                    body: body
                )
        )
    }

    @Test("Bad secrets are rejected without echoing them")
    func badSecrets() {
        for secret in ["whsec_not*base64", "whsec_", "whsec_c2hvcnQ="] {
            do {
                _ = try WebhookSigner(secrets: [secret])
                Issue.record("accepted \(secret)")
            } catch {
                #expect(error.code == .invalidSecret)
                #expect(!error.message.contains(String(secret.dropFirst(6))) || secret == "whsec_")
            }
        }
    }
}
