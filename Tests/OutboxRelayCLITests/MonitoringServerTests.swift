import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The monitoring server of the real binary: `run` with `monitoring.listen`, scraped over
/// loopback while it relays.
@Suite("monitoring server")
struct MonitoringServerTests {
    struct Scrape {
        var status: Int
        var body: String
    }

    static func get(_ url: URL, method: String = "GET") async throws -> Scrape {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        return Scrape(
            status: (response as? HTTPURLResponse)?.statusCode ?? 0,
            body: String(decoding: data, as: UTF8.self)
        )
    }

    /// The value of the sample `name{labels}` in a Prometheus text exposition.
    static func sample(_ name: String, _ labels: String = "", in text: String) -> Double? {
        let prefix = labels.isEmpty ? "\(name) " : "\(name){\(labels)} "
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            return Double(line.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// The `outbox_relay_…` and `process_…` metric names in a text, without histogram suffixes.
    static func metricNames(in text: String) -> Set<String> {
        var names: Set<String> = []
        var scalars = text.unicodeScalars[...]
        while let start = scalars.indices.first(where: {
            scalars[$0...].starts(with: "outbox_relay_".unicodeScalars)
                || scalars[$0...].starts(with: "process_".unicodeScalars)
        }) {
            let end =
                scalars[start...].firstIndex { !(CharacterSet.lowercaseLetters.contains($0) || $0 == "_") }
                ?? scalars.endIndex
            var name = String(String.UnicodeScalarView(scalars[start..<end]))
            for suffix in ["_bucket", "_count", "_sum"] where name.hasSuffix(suffix) && name.contains("latency") {
                name.removeLast(suffix.count)
            }
            if name.hasSuffix("_") == false { names.insert(name) }
            scalars = scalars[end...]
        }
        return names
    }

    /// Waits for the "monitoring server listening on HOST:PORT" log line and returns the base URL.
    static func baseURL(of relay: CLI.Running) async throws -> URL {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let log = relay.readStderr()
            if let range = log.range(of: "monitoring server listening on ") {
                let address = log[range.upperBound...].prefix { $0 != " " }
                return URL(string: "http://\(address)")!
            }
            guard relay.process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw SQLiteShell.ShellError(description: "no listening line: \(relay.readStderr())")
    }

    @Test("/metrics counts what run delivered and dead-lettered, during and after; /healthz, /readyz; nothing else")
    func scrapesARunningRelay() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        var payloads = (1...30).map(RunCommandTests.goodRow)
        payloads.insert("{not json", at: 5)
        payloads.insert("", at: 17)
        try RunCommandTests.createOutbox(database, payloads: payloads)
        let configURL = folder.appendingPathComponent("relay.yaml")
        let config = RunCommandTests.config(
            database: database,
            output: output,
            batchSize: 7,
            extra: """
                relay:
                  status_interval: 200ms
                monitoring:
                  listen: "127.0.0.1:0"
                """
        )
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let relay = try CLI.start(["run", "--config", configURL.path])
        defer {
            if relay.process.isRunning {
                relay.process.terminate()
                relay.process.waitUntilExit()
            }
        }
        let base = try await Self.baseURL(of: relay)
        let metricsURL = base.appendingPathComponent("metrics")
        let table = #"table="outbox_messages""#

        func scrapeUntil(_ condition: (String) -> Bool) async throws -> String {
            let deadline = ContinuousClock.now + .seconds(20)
            var last = ""
            while ContinuousClock.now < deadline {
                let scrape = try await Self.get(metricsURL)
                #expect(scrape.status == 200)
                last = scrape.body
                if condition(last) { return last }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("metrics never matched; last scrape:\n\(last)")
            return last
        }

        var text = try await scrapeUntil {
            Self.sample("outbox_relay_rows_completed_total", #"\#(table),action="mark""#, in: $0) == 32
                && Self.sample("outbox_relay_backlog_rows", table, in: $0) == 0
        }
        let delivered = try RunCommandTests.readLines(output).count
        #expect(delivered == 30)
        #expect(Self.sample("outbox_relay_rows_read_total", table, in: text) == 32)
        #expect(Self.sample("outbox_relay_messages_delivered_total", #"destination="out""#, in: text) == 30)
        #expect(
            Self.sample("outbox_relay_delivery_attempts_total", #"destination="out",outcome="delivered""#, in: text)
                == 30
        )
        #expect(
            Self.sample("outbox_relay_dead_letters_total", #"destination="",reason="undecodable""#, in: text) == 2
        )
        #expect(Self.sample("outbox_relay_rows_in_flight", table, in: text) == 0)
        #expect(Self.sample("outbox_relay_active", table, in: text) == 1)
        #expect(Self.sample("outbox_relay_source_errors_total", table, in: text) == 0)
        #expect(
            Self.sample("outbox_relay_delivery_latency_seconds_count", #"destination="out""#, in: text) == 30
        )
        #expect((Self.sample("process_resident_memory_bytes", in: text) ?? 0) > 1_000_000)
        #expect((Self.sample("process_open_fds", in: text) ?? 0) > 2)
        #expect(text.contains("# TYPE outbox_relay_delivery_latency_seconds histogram"))

        // The example dashboard and the README name only metrics this relay exports.
        let exported = Set(
            text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }
        )
        for document in ["Examples/Grafana/outbox-relay-dashboard.json", "README.md"] {
            var content = try String(contentsOf: CLI.repositoryRoot.appendingPathComponent(document), encoding: .utf8)
            // README: its Monitoring section (elsewhere it names the outbox_relay_dead_letters table).
            if let start = content.range(of: "### Monitoring"), let end = content.range(of: "## Using it as a library")
            {
                content = String(content[start.lowerBound..<end.lowerBound])
            }
            let names = Self.metricNames(in: content)
            #expect(names.count > 10, "\(document)")
            // Kafka and webhook transports' own metrics (this relay has neither) are checked
            // against their names by KafkaMetricsTests and WebhookMetricsTests.
            let transportPrefixes = ["outbox_relay_kafka_", "outbox_relay_webhook_", "outbox_relay_endpoint_disabled"]
            for name in names where !transportPrefixes.contains(where: { name.hasPrefix($0) }) {
                #expect(exported.contains(Substring(name)), "\(document) names \(name), which /metrics does not export")
            }
        }

        // Rows written while the relay runs are counted too.
        try SQLiteShell.run(
            database,
            (31...35).map {
                "INSERT INTO outbox_messages (payload) VALUES (\(SQLiteShell.literal(RunCommandTests.goodRow($0))));"
            }
            .joined(separator: "\n")
        )
        text = try await scrapeUntil {
            Self.sample("outbox_relay_messages_delivered_total", #"destination="out""#, in: $0) == 35
        }
        #expect(Self.sample("outbox_relay_rows_read_total", table, in: text) == 37)
        #expect(try RunCommandTests.readLines(output).count == 35)

        let health = try await Self.get(base.appendingPathComponent("healthz"))
        #expect(health.status == 200)
        #expect(health.body == #"{"status":"ok"}"#)
        let ready = try await Self.get(base.appendingPathComponent("readyz"))
        #expect(ready.status == 200)
        #expect(ready.body == #"{"status":"ok"}"#)
        #expect(try await Self.get(base.appendingPathComponent("nothing-here")).status == 404)
        #expect(try await Self.get(base.appendingPathComponent("")).status == 404)
        #expect(try await Self.get(metricsURL, method: "POST").status == 405)

        relay.process.terminate()
        relay.process.waitUntilExit()
        #expect(relay.process.terminationStatus == 0, "\(relay.readStderr())")
    }

    @Test("run retries while the database is missing: /readyz 503 with the reason, /healthz 200; 200 once it is there")
    func readinessFollowsTheDatabase() async throws {
        let folder = try CLI.temporaryFolder()
        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        let configURL = folder.appendingPathComponent("relay.yaml")
        let config = RunCommandTests.config(
            database: database,
            output: output,
            extra: """
                monitoring:
                  listen: "127.0.0.1:0"
                """
        )
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let relay = try CLI.start(["run", "--config", configURL.path])
        defer {
            if relay.process.isRunning {
                relay.process.terminate()
                relay.process.waitUntilExit()
            }
        }
        let base = try await Self.baseURL(of: relay)
        let readyURL = base.appendingPathComponent("readyz")

        func readyzUntil(_ status: Int) async throws -> Scrape {
            let deadline = ContinuousClock.now + .seconds(30)
            var last = Scrape(status: 0, body: "")
            while ContinuousClock.now < deadline {
                last = try await Self.get(readyURL)
                if last.status == status { return last }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("/readyz never answered \(status); last: \(last.status) \(last.body)\n\(relay.readStderr())")
            return last
        }

        let notReady = try await readyzUntil(503)
        #expect(notReady.body.hasPrefix(#"{"status":"unavailable","reasons":["#), "\(notReady.body)")
        #expect(notReady.body.contains("source:"), "\(notReady.body)")
        try await Task.sleep(for: .milliseconds(400))
        #expect(relay.process.isRunning, "run must not exit while the database is missing: \(relay.readStderr())")
        #expect(try await Self.get(base.appendingPathComponent("healthz")).status == 200)
        #expect(relay.readStderr().contains("could not start"))

        try RunCommandTests.createOutbox(database, payloads: [RunCommandTests.goodRow(1)])
        let ready = try await readyzUntil(200)
        #expect(ready.body == #"{"status":"ok"}"#)
        let deadline = ContinuousClock.now + .seconds(20)
        while (try RunCommandTests.readLines(output)).isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try RunCommandTests.readLines(output).count == 1)

        relay.process.terminate()
        relay.process.waitUntilExit()
        #expect(relay.process.terminationStatus == 0, "\(relay.readStderr())")
    }

    @Test("a webhook endpoint disabled by 410 Gone: /readyz 503 naming it, endpoint_disabled 1, the relay goes on")
    func disabledEndpointIsNotReady() async throws {
        let folder = try CLI.temporaryFolder()
        // A receiver that answers every POST 410 Gone (Python's http.server on 127.0.0.1).
        let portFile = folder.appendingPathComponent("port")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = [
            "-c",
            """
            import http.server, sys
            class Gone(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_POST(self):
                    self.rfile.read(int(self.headers.get("content-length", "0")))
                    self.send_response(410)
                    self.send_header("content-length", "0")
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", 0), Gone)
            open(sys.argv[1], "w").write(str(server.server_address[1]))
            server.serve_forever()
            """,
            portFile.path,
        ]
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)
            for _ in 0..<200 where server.isRunning { usleep(10_000) }
        }
        var port: Int?
        for _ in 0..<200 where port == nil {
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
            if port == nil { try await Task.sleep(for: .milliseconds(25)) }
        }
        let webhookPort = try #require(port, "the 410 receiver did not start")

        let database = folder.appendingPathComponent("outbox.db")
        let output = folder.appendingPathComponent("out.jsonl")
        try RunCommandTests.createOutbox(database, payloads: (1...3).map(RunCommandTests.goodRow))
        let configURL = folder.appendingPathComponent("relay.yaml")
        let config = """
            source:
              url: "sqlite:\(database.path)"
              flavour: outbox
            transports:
              out:
                type: file
                path: "\(output.path)"
              gone:
                type: http
                url: "http://127.0.0.1:\(webhookPort)/hook"
                allow_private_networks: true
            routes:
              - events: "*"
                to: [out, gone]
            monitoring:
              listen: "127.0.0.1:0"
            """
        try config.write(to: configURL, atomically: true, encoding: .utf8)
        let relay = try CLI.start(["run", "--config", configURL.path])
        defer {
            if relay.process.isRunning {
                relay.process.terminate()
                relay.process.waitUntilExit()
            }
        }
        let base = try await Self.baseURL(of: relay)
        let deadline = ContinuousClock.now + .seconds(30)
        var ready = Scrape(status: 0, body: "")
        while ContinuousClock.now < deadline {
            ready = try await Self.get(base.appendingPathComponent("readyz"))
            if ready.status == 503 && ready.body.contains("transport gone: disabled") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(ready.status == 503)
        #expect(ready.body.contains("transport gone: disabled"), "\(ready.body)")
        #expect(ready.body.contains("410 Gone"), "\(ready.body)")
        let metrics = try await Self.get(base.appendingPathComponent("metrics")).body
        #expect(Self.sample("outbox_relay_endpoint_disabled", #"destination="gone""#, in: metrics) == 1)
        #expect(
            Self.sample("outbox_relay_webhook_connections_opened_total", #"destination="gone""#, in: metrics) ?? 0 >= 1
        )
        // Liveness is not affected, and the other destination got every message.
        #expect(try await Self.get(base.appendingPathComponent("healthz")).status == 200)
        let delivered = ContinuousClock.now + .seconds(20)
        while (try RunCommandTests.readLines(output)).count < 3, ContinuousClock.now < delivered {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try RunCommandTests.readLines(output).count == 3)
        #expect(relay.readStderr().contains("WEBHOOK ENDPOINT DISABLED"))

        relay.process.terminate()
        relay.process.waitUntilExit()
        #expect(relay.process.terminationStatus == 0, "\(relay.readStderr())")
    }
}
