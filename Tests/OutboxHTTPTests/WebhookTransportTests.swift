import CCurl
import Foundation
import Logging
import OutboxRelay
import Testing

@testable import OutboxHTTP

/// The transport against a real HTTP server on 127.0.0.1 (`deliver` called directly).
@Suite(
    "WebhookTransport against a real local server",
    .enabled(if: TestEnvironment.serverTestsEnabled, TestEnvironment.serverSkipMessage)
)
struct WebhookTransportTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// Loopback tests must allow private networks; everything else keeps its default.
    static func configuration(
        _ url: String,
        _ change: (inout WebhookTransport.Configuration) -> Void = { _ in }
    ) -> WebhookTransport.Configuration {
        var configuration = WebhookTransport.Configuration(url: url)
        configuration.network.allowPrivateNetworks = true
        change(&configuration)
        return configuration
    }

    static func transport(
        _ url: String,
        _ change: (inout WebhookTransport.Configuration) -> Void = { _ in }
    ) throws -> WebhookTransport {
        try WebhookTransport(name: "hook", configuration: configuration(url, change))
    }

    @Test("delivers signed envelopes with the Standard Webhooks headers, in order per aggregate")
    func deliversSignedEnvelopes() async throws {
        let server = try await WebhookTestServer(secrets: [Self.secret])
        defer { server.stop() }
        let transport = try Self.transport(server.url("/ok")) {
            $0.signing.secrets = [Self.secret]
            $0.headers = ["authorization": "Bearer test-token", "x-tenant": "acme"]
        }
        try await transport.start()
        var messages: [OutboxMessage] = []
        for version in 1...8 {
            for aggregate in ["a", "b", "c"] {
                messages.append(
                    try TestMessages.make(row: Int64(messages.count + 1), aggregate: aggregate, version: Int64(version))
                )
            }
        }
        let before = Int(Date().timeIntervalSince1970)
        let results = await transport.deliver(messages)
        await transport.shutdown()
        #expect(results == Array(repeating: .delivered, count: messages.count))

        let requests = server.requests()
        #expect(requests.count == messages.count)
        let byID = Dictionary(uniqueKeysWithValues: messages.map { ($0.eventID, $0) })
        for request in requests {
            let message = try #require(byID[request.webhookID])
            #expect(request.signatureValid == true)
            #expect(request.signature.hasPrefix("v1,"))
            #expect(request.body == String(decoding: message.envelope, as: UTF8.self))
            #expect(request.contentType == "application/json")
            #expect(request.headers["authorization"] == "Bearer test-token")
            #expect(request.headers["x-tenant"] == "acme")
            #expect(request.headers["expect"] == nil)
            let timestamp = try #require(Int(request.timestamp))
            #expect(abs(timestamp - before) < 60)
        }
        for aggregate in ["a", "b", "c"] {
            let versions = requests.compactMap { byID[$0.webhookID] }.filter { $0.aggregateRootID == aggregate }.map {
                $0.aggregateRootVersion!
            }
            #expect(versions == Array(1...8), "arrival order of aggregate \(aggregate)")
        }
    }

    @Test("payload and CloudEvents body formats")
    func bodyFormats() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let message = try TestMessages.make(row: 1, aggregate: "order-7", payload: #"{"total":"12.50","lines":[1,2]}"#)

        let payload = try Self.transport(server.url("/ok")) { $0.bodyFormat = .payload }
        #expect(await payload.deliver([message]) == [.delivered])
        await payload.shutdown()

        let cloud = try Self.transport(server.url("/ok")) {
            $0.bodyFormat = .cloudevents
            $0.cloudEvents.source = "urn:acme:shop"
        }
        #expect(await cloud.deliver([message]) == [.delivered])
        await cloud.shutdown()

        let requests = server.requests()
        try #require(requests.count == 2)
        #expect(requests[0].body == #"{"total":"12.50","lines":[1,2]}"#)
        #expect(requests[0].contentType == "application/json")
        #expect(requests[1].contentType == "application/cloudevents+json")
        let event = try #require(try JSONSerialization.jsonObject(with: Data(requests[1].body.utf8)) as? [String: Any])
        #expect(event["specversion"] as? String == "1.0")
        #expect(event["id"] as? String == message.eventID)
        #expect(event["type"] as? String == "acme.shop.orders.order_was_placed")
        #expect(event["source"] as? String == "urn:acme:shop")
        #expect(event["subject"] as? String == "order-7")
        #expect(event["time"] as? String == "2024-03-14T05:04:50.163498Z")
        #expect((event["data"] as? [String: Any])?["total"] as? String == "12.50")
    }

    @Test("503 is retryable; the webhook-id stays the same on every attempt")
    func serviceUnavailableIsRetryable() async throws {
        let server = try await WebhookTestServer(secrets: [Self.secret])
        defer { server.stop() }
        let transport = try Self.transport(server.url("/flaky/2")) { $0.signing.secrets = [Self.secret] }
        let message = try TestMessages.make(row: 1)
        var results: [DeliveryResult] = []
        for _ in 0..<3 { results.append(contentsOf: await transport.deliver([message])) }
        await transport.shutdown()
        #expect(results.count == 3)
        #expect(results[0] == .retryable("HTTP 503", retryAfter: nil))
        #expect(results[1] == .retryable("HTTP 503", retryAfter: nil))
        #expect(results[2] == .delivered)
        let requests = server.requests()
        #expect(requests.map(\.webhookID) == Array(repeating: message.eventID, count: 3))
        #expect(requests.map(\.status) == [503, 503, 200])
        #expect(requests.allSatisfy { $0.signatureValid == true })
    }

    @Test("Retry-After in seconds becomes the retry hint")
    func retryAfterSeconds() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let transport = try Self.transport(server.url("/retry-after/7"))
        let results = await transport.deliver([try TestMessages.make(row: 1)])
        await transport.shutdown()
        #expect(results == [.retryable("HTTP 503", retryAfter: .seconds(7))])
        // The engine's policy waits at least that long.
        let delay = RetryPolicy(initialDelay: .milliseconds(10)).delay(
            afterAttempt: 1,
            retryAfter: .seconds(7),
            random: 0
        )
        #expect(delay >= .seconds(7))
    }

    @Test("a refused address only matters when the transfer failed: a 2xx from the next address is delivered")
    func refusedThenDelivered() {
        let classifier = WebhookResponseClassifier(
            maximumClientErrorAttempts: 1,
            maximumRetryAfter: .seconds(3600),
            timeoutDescription: ""
        )
        let refused = "10.0.0.1 (private)"
        let delivered = classifier.classify(
            curlCode: CURLE_OK,
            status: 204,
            retryAfterHeader: nil,
            clientErrorAttempts: 0,
            refusedAddress: refused,
            now: 0
        )
        #expect(delivered.0 == .delivered)
        let failed = classifier.classify(
            curlCode: CURLE_COULDNT_CONNECT,
            status: 0,
            retryAfterHeader: nil,
            clientErrorAttempts: 0,
            refusedAddress: refused,
            connected: false,
            now: 0
        )
        guard case .retryable(let reason, _) = failed.0 else {
            Issue.record("expected retryable, got \(failed.0)")
            return
        }
        #expect(reason.contains("private networks are not allowed"))
    }

    @Test("Retry-After as an HTTP date, capped, or garbage")
    func retryAfterParsing() {
        let classifier = WebhookResponseClassifier(
            maximumClientErrorAttempts: 1,
            maximumRetryAfter: .seconds(3600),
            timeoutDescription: ""
        )
        // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
        #expect(classifier.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_777 - 90) == .seconds(90))
        #expect(classifier.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_777 + 5) == .seconds(0))
        #expect(classifier.parseRetryAfter(" 120 ", now: 0) == .seconds(120))
        #expect(classifier.parseRetryAfter("999999999", now: 0) == .seconds(3600))
        #expect(classifier.parseRetryAfter("soon", now: 0) == nil)
    }

    @Test("410 Gone disables the endpoint: its messages become permanent failures without requests")
    func goneDisables() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let transport = try Self.transport(server.url("/status/410"))
        let first = await transport.deliver([try TestMessages.make(row: 1, aggregate: "x")])
        #expect(first == [.permanent("endpoint disabled: 410 Gone")])
        #expect(transport.isDisabled)
        let later = await transport.deliver([
            try TestMessages.make(row: 2, aggregate: "y"), try TestMessages.make(row: 3, aggregate: "z"),
        ])
        await transport.shutdown()
        #expect(later == Array(repeating: .permanent("endpoint disabled: 410 Gone"), count: 2))
        #expect(server.requests().count == 1)
    }

    @Test("a request that exceeds the total timeout is retryable, and returns in time")
    func timeout() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let transport = try Self.transport(server.url("/slow/3000")) { $0.timeouts.total = .milliseconds(300) }
        let clock = ContinuousClock()
        let start = clock.now
        let results = await transport.deliver([try TestMessages.make(row: 1)])
        let elapsed = clock.now - start
        await transport.shutdown()
        try #require(results.count == 1)
        guard case .retryable(let reason, _) = results[0] else {
            Issue.record("expected retryable, got \(results[0])")
            return
        }
        #expect(reason.contains("timed out"))
        #expect(elapsed < .seconds(2))
    }

    @Test("other 4xx: permanent at once by default, or after max_client_error_attempts")
    func clientErrors() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let strict = try Self.transport(server.url("/status/422"))
        #expect(await strict.deliver([try TestMessages.make(row: 1)]) == [.permanent("HTTP 422 after 1 attempt")])
        await strict.shutdown()

        let lenient = try Self.transport(server.url("/status/400")) { $0.maximumClientErrorAttempts = 3 }
        let message = try TestMessages.make(row: 2)
        var results: [DeliveryResult] = []
        for _ in 0..<3 { results += await lenient.deliver([message]) }
        await lenient.shutdown()
        #expect(
            results == [
                .retryable("HTTP 400 (attempt 1 of 3)", retryAfter: nil),
                .retryable("HTTP 400 (attempt 2 of 3)", retryAfter: nil),
                .permanent("HTTP 400 after 3 attempts"),
            ]
        )
    }

    @Test("redirects are not followed by default, and keep the POST when allowed")
    func redirects() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let strict = try Self.transport(server.url("/redirect"))
        #expect(
            await strict.deliver([try TestMessages.make(row: 1)]) == [
                .permanent("HTTP 302 redirect not followed (follow_redirects is off)")
            ]
        )
        await strict.shutdown()
        let following = try Self.transport(server.url("/redirect")) { $0.redirects.follow = true }
        let message = try TestMessages.make(row: 2)
        #expect(await following.deliver([message]) == [.delivered])
        await following.shutdown()
        let requests = server.requests()
        #expect(requests.map(\.path) == ["/redirect", "/redirect", "/ok"])
        #expect(requests.last?.body == String(decoding: message.envelope, as: UTF8.self))
    }

    static func redirectPath(to url: String) -> String {
        "/redirect-to/" + (url.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? url)
    }

    @Test("a followed redirect to another host drops the custom headers; to the same origin it keeps them")
    func redirectsDropCustomHeadersOnHostChange() async throws {
        let server = try await WebhookTestServer(secrets: [Self.secret])
        defer { server.stop() }
        // 127.0.0.1 and localhost are the same server but different hosts.
        let elsewhere = Self.redirectPath(to: "http://localhost:\(server.port)/ok")
        let transport = try Self.transport(server.url(elsewhere)) {
            $0.redirects.follow = true
            $0.headers = ["x-api-key": "k3y-s3cret"]
            $0.signing.secrets = [Self.secret]
        }
        #expect(await transport.deliver([try TestMessages.make(row: 1)]) == [.delivered])
        await transport.shutdown()
        let sameOrigin = try Self.transport(server.url("/redirect")) {
            $0.redirects.follow = true
            $0.headers = ["x-api-key": "k3y-s3cret"]
        }
        #expect(await sameOrigin.deliver([try TestMessages.make(row: 2)]) == [.delivered])
        await sameOrigin.shutdown()

        let requests = server.requests()
        try #require(requests.count == 4, "\(requests.map(\.path))")
        #expect(requests[0].headers["x-api-key"] == "k3y-s3cret")
        #expect(requests[1].path == "/ok" && requests[1].headers["host"]?.hasPrefix("localhost") == true)
        #expect(requests[1].headers["x-api-key"] == nil, "the custom header went to another host")
        #expect(requests[1].signatureValid == true, "the signature and body travel on")
        #expect(requests[2].path == "/redirect" && requests[3].path == "/ok")
        #expect(requests[3].headers["x-api-key"] == "k3y-s3cret")
    }

    @Test("max_redirects is enforced by the transport's own redirect following")
    func redirectLimit() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let transport = try Self.transport(server.url("/redirect")) {
            $0.redirects.follow = true
            $0.redirects.maximum = 0
        }
        let results = await transport.deliver([try TestMessages.make(row: 1)])
        await transport.shutdown()
        guard case .permanent(let reason) = results.first else {
            Issue.record("expected permanent, got \(results)")
            return
        }
        #expect(reason.contains("too many redirects"))
        #expect(server.requests().map(\.path) == ["/redirect"])
    }

    @Test(
        "an https → http redirect is refused unless allow_insecure_redirects",
        .enabled(if: TestEnvironment.tlsTestsEnabled, TestEnvironment.tlsSkipMessage)
    )
    func httpsToHTTPRedirect() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let secure = try await WebhookTestServer(certificates: certificates)
        defer { secure.stop() }
        let plain = try await WebhookTestServer()
        defer { plain.stop() }
        let downgrade = secure.url(Self.redirectPath(to: plain.url("/ok")))

        let refusing = try Self.transport(downgrade) {
            $0.tls.caFile = certificates.caCertificate
            $0.redirects.follow = true
        }
        let refused = await refusing.deliver([try TestMessages.make(row: 1)])
        await refusing.shutdown()
        guard case .permanent(let reason) = refused.first else {
            Issue.record("expected permanent, got \(refused)")
            return
        }
        #expect(reason.contains("allow_insecure_redirects"))
        #expect(plain.requests().isEmpty)

        let allowing = try Self.transport(downgrade) {
            $0.tls.caFile = certificates.caCertificate
            $0.redirects.follow = true
            $0.redirects.allowInsecure = true
        }
        #expect(await allowing.deliver([try TestMessages.make(row: 2)]) == [.delivered])
        await allowing.shutdown()
        #expect(plain.requests().map(\.path) == ["/ok"])
    }

    @Test(
        "redirect policy decisions",
        arguments: [
            (
                "https://a.example/x", "https://a.example/y", 0,
                WebhookRedirectPolicy.Decision.follow(url: "https://a.example/y", keepsCustomHeaders: true)
            ),
            (
                "https://a.example/x", "https://A.EXAMPLE:443/y", 0,
                .follow(url: "https://A.EXAMPLE:443/y", keepsCustomHeaders: true)
            ),
            (
                "https://a.example/x", "https://b.example/y", 0,
                .follow(url: "https://b.example/y", keepsCustomHeaders: false)
            ),
            (
                "https://a.example/x", "https://a.example:8443/y", 0,
                .follow(url: "https://a.example:8443/y", keepsCustomHeaders: false)
            ),
            (
                "http://a.example/x", "https://a.example/y", 0,
                .follow(url: "https://a.example/y", keepsCustomHeaders: false)
            ),
        ]
    )
    func redirectPolicy(from: String, to: String, followed: Int, expected: WebhookRedirectPolicy.Decision) {
        let policy = WebhookRedirectPolicy(maximumRedirects: 5, allowsInsecure: false, httpsOnly: false)
        #expect(policy.decide(from: from, to: to, followed: followed) == expected)
    }

    @Test("redirect policy refusals")
    func redirectPolicyRefusals() {
        let policy = WebhookRedirectPolicy(maximumRedirects: 2, allowsInsecure: false, httpsOnly: false)
        func isRefused(_ decision: WebhookRedirectPolicy.Decision, _ word: String) -> Bool {
            if case .refuse(let reason) = decision { return reason.contains(word) }
            return false
        }
        #expect(isRefused(policy.decide(from: "https://a.example/", to: "http://a.example/", followed: 0), "insecure"))
        #expect(isRefused(policy.decide(from: "https://a.example/", to: "ftp://a.example/", followed: 0), "not http"))
        #expect(isRefused(policy.decide(from: "https://a.example/", to: "https://a.example/", followed: 2), "too many"))
        let httpsOnly = WebhookRedirectPolicy(maximumRedirects: 2, allowsInsecure: true, httpsOnly: true)
        #expect(
            isRefused(httpsOnly.decide(from: "https://a.example/", to: "http://b.example/", followed: 0), "https_only")
        )
        let allowing = WebhookRedirectPolicy(maximumRedirects: 2, allowsInsecure: true, httpsOnly: false)
        #expect(
            allowing.decide(from: "https://a.example/", to: "http://b.example/", followed: 0)
                == .follow(url: "http://b.example/", keepsCustomHeaders: false)
        )
    }

    @Test("after a failure, later messages of the same aggregate are not sent; other aggregates are")
    func orderAfterFailure() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let transport = try Self.transport(server.url("/flaky/1")) { $0.concurrency = 1 }
        // flaky/1 fails the first request of every id, so every aggregate's first message fails.
        let messages = [
            try TestMessages.make(row: 1, aggregate: "a", version: 1),
            try TestMessages.make(row: 2, aggregate: "a", version: 2),
            try TestMessages.make(row: 3, aggregate: "a", version: 3),
        ]
        let results = await transport.deliver(messages)
        await transport.shutdown()
        #expect(results[0] == .retryable("HTTP 503", retryAfter: nil))
        for result in results.dropFirst() {
            #expect(!result.isDelivered)
            #expect(result.failureReason?.contains("not sent") == true)
        }
        #expect(server.requests().map(\.webhookID) == [messages[0].eventID])
    }

    @Test("requests to different aggregates run concurrently up to the limit")
    func concurrency() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let transport = try Self.transport(server.url("/slow/300")) { $0.concurrency = 8 }
        let messages = try (1...8).map { try TestMessages.make(row: Int64($0), aggregate: "agg-\($0)") }
        let clock = ContinuousClock()
        let start = clock.now
        let results = await transport.deliver(messages)
        let elapsed = clock.now - start
        await transport.shutdown()
        #expect(results == Array(repeating: .delivered, count: 8))
        // Sequentially this takes 2.4 s; in parallel about 0.3 s.
        #expect(elapsed < .milliseconds(1500))
    }

    @Test("a body over max_body_size is a permanent failure and is not sent")
    func maximumBodySize() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let transport = try Self.transport(server.url("/ok")) {
            $0.maximumBodySize = 64
            $0.bodyFormat = .payload
        }
        let big = try TestMessages.make(row: 1, payload: "\"" + String(repeating: "x", count: 200) + "\"")
        let small = try TestMessages.make(row: 2, aggregate: "other", payload: "1")
        let results = await transport.deliver([big, small])
        await transport.shutdown()
        #expect(results[0] == .permanent("body of \(big.payloadBytes.count) bytes exceeds the maximum of 64 bytes"))
        #expect(results[1] == .delivered)
        #expect(server.requests().count == 1)
    }

    @Test(
        "TLS with a self-signed CA: accepted with ca_file, refused without",
        .enabled(if: TestEnvironment.tlsTestsEnabled, TestEnvironment.tlsSkipMessage)
    )
    func tlsWithPrivateCA() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let server = try await WebhookTestServer(certificates: certificates)
        defer { server.stop() }
        #expect(server.url("/ok").hasPrefix("https://"))

        let trusting = try Self.transport(server.url("/ok")) {
            $0.tls.caFile = certificates.caCertificate
            $0.tls.httpsOnly = true
        }
        #expect(await trusting.deliver([try TestMessages.make(row: 1)]) == [.delivered])
        await trusting.shutdown()

        let untrusting = try Self.transport(server.url("/ok"))
        let refused = await untrusting.deliver([try TestMessages.make(row: 2)])
        await untrusting.shutdown()
        try #require(refused.count == 1)
        guard case .retryable(let reason, _) = refused[0] else {
            Issue.record("expected a retryable certificate failure, got \(refused[0])")
            return
        }
        #expect(reason.lowercased().contains("certificate") || reason.contains("SSL"))
        #expect(server.requests().count == 1)
    }

    @Test("https_only refuses http:// URLs")
    func httpsOnly() {
        #expect(throws: WebhookTransportError.self) {
            try WebhookTransport(
                name: "hook",
                configuration: Self.configuration("http://example.com/hook") { $0.tls.httpsOnly = true }
            )
        }
    }

    @Test("the private-address guard refuses loopback unless allowed")
    func privateAddressGuard() async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        for host in ["127.0.0.1", "localhost"] {
            let url = "http://\(host):\(server.port)/ok"
            let guarded = try WebhookTransport(name: "hook", configuration: WebhookTransport.Configuration(url: url))
            await #expect(throws: WebhookTransportError.self) { try await guarded.start() }
            let results = await guarded.deliver([try TestMessages.make(row: 1)])
            await guarded.shutdown()
            try #require(results.count == 1)
            guard case .retryable(let reason, _) = results[0] else {
                Issue.record("expected the guard to refuse \(host), got \(results[0])")
                continue
            }
            #expect(reason.contains("private networks are not allowed"))
            #expect(reason.contains("loopback"))
        }
        #expect(server.requests().isEmpty)

        let allowed = try Self.transport(server.url("/ok"))
        try await allowed.start()
        #expect(await allowed.deliver([try TestMessages.make(row: 1)]) == [.delivered])
        await allowed.shutdown()
        #expect(server.requests().count == 1)
    }

    @Test("address classification")
    func addressClassification() {
        let nonPublic = [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
            "0.0.0.0",
            "::1", "::", "fe80::1", "fd00::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
            "224.0.0.1",
            // Special ranges found in review (issue 11)
            "192.88.99.1", "2002:c0a8:101::1", "2002:808:808::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b:1::a00:1", "64:ff9b:1::808:808", "100::1", "100::ffff:ffff:ffff:ffff", "2001:2::1",
            "2001:10::1", "2001:20::1", "3fff::1", "5f00::1",
        ]
        let publicAddresses = [
            "93.184.216.34", "1.1.1.1", "172.32.0.1", "192.169.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8",
            "192.88.98.1", "192.88.100.1", "2001:4860:4860::8888", "2a00:1450:4001::1", "100:0:0:1::1",
            "64:ff9b::808:808", "2001:3::1",
        ]
        for text in nonPublic {
            let bytes = PrivateAddressGuard.literal(text)
            #expect(bytes != nil && PrivateAddressGuard.nonPublicReason(bytes!) != nil, "\(text) should be refused")
        }
        for text in publicAddresses {
            let bytes = PrivateAddressGuard.literal(text)
            #expect(bytes != nil && PrivateAddressGuard.nonPublicReason(bytes!) == nil, "\(text) should be allowed")
        }
    }

    @Test("URL user info and query values never reach logs or results")
    func redaction() async throws {
        let port = try FreePort.reserve()
        let transport = try Self.transport("http://user:s3cr3tpass@127.0.0.1:\(port)/hook?token=t0k3n&x=1")
        #expect(transport.redactedURL == "http://127.0.0.1:\(port)/…")
        let slack = try Self.transport("https://hooks.slack.example/services/T0001/B0002/XXXXs3cr3tXXXX")
        #expect(slack.redactedURL == "https://hooks.slack.example/…")
        await slack.shutdown()
        let results = await transport.deliver([try TestMessages.make(row: 1)])
        await transport.shutdown()
        let reason = results.first?.failureReason ?? ""
        #expect(!reason.isEmpty)
        #expect(!reason.contains("s3cr3tpass") && !reason.contains("t0k3n"))

        do {
            _ = try WebhookTransport(
                name: "hook",
                configuration: WebhookTransport.Configuration(url: "ftp://user:s3cr3tpass@example.com/x?token=t0k3n")
            )
            Issue.record("ftp accepted")
        } catch {
            #expect(!error.description.contains("s3cr3tpass") && !error.description.contains("t0k3n"))
        }
    }

    @Test("configuration validation names the problem")
    func validation() {
        let cases: [(WebhookTransport.Configuration, WebhookTransportError.Code)] = [
            (Self.configuration("not a url"), .invalidURL),
            (Self.configuration("https://example.com") { $0.headers = ["webhook-id": "x"] }, .invalidHeader),
            (Self.configuration("https://example.com") { $0.headers = ["x-a": "1\r\nx-b: 2"] }, .invalidHeader),
            (Self.configuration("https://example.com") { $0.headers = ["bad name": "1"] }, .invalidHeader),
            (Self.configuration("https://example.com") { $0.concurrency = 0 }, .invalidConfiguration),
            (Self.configuration("https://example.com") { $0.signing.secrets = ["whsec_!!"] }, .invalidSecret),
        ]
        for (configuration, code) in cases {
            do {
                try configuration.validate()
                Issue.record("accepted \(configuration.url) \(configuration.headers)")
            } catch {
                #expect(error.code == code)
            }
        }
    }
}

/// A loopback port nothing listens on (bound, then closed).
enum FreePort {
    static func reserve() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestServerError(description: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw TestServerError(description: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
