import Foundation
import OutboxRelay
import Testing

/// A real HTTP(S) webhook receiver on 127.0.0.1: Python's `http.server`, started per test.
///
/// It verifies Standard Webhooks signatures independently (Python's `hmac`), records every
/// request it gets as a JSON line, and answers according to the request path:
///
/// | path | answer |
/// |---|---|
/// | `/ok` | 200 |
/// | `/flaky/N` | 503 for the first N requests of each `webhook-id`, then 200 |
/// | `/retry-after/V` | 503 with `Retry-After: V` on the first request of each id, then 200 |
/// | `/status/C` | status C |
/// | `/slow/MS` | waits MS milliseconds, then 200 |
/// | `/redirect` | 302 to `/ok` |
/// | `/redirect-to/URL` | 302 to `URL` (percent-encoded in the path) |
final class WebhookTestServer: @unchecked Sendable {
    /// One request the server received.
    struct Request: Sendable {
        var path: String
        var webhookID: String
        var timestamp: String
        var signature: String
        /// `true`/`false` when the server was given secrets, `nil` otherwise.
        var signatureValid: Bool?
        var contentType: String
        var body: String
        /// How many requests with this path and id the server had seen, this one included.
        var attempt: Int
        var status: Int
        var receivedAt: Double
        var headers: [String: String]
    }

    let port: Int
    let scheme: String
    private let process: Process
    private let directory: String

    /// Whether the tools exist (python3; openssl for TLS).
    static let toolsAvailable: Bool = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")

    /// Starts a server. With `certificates`, it speaks TLS with that server certificate; with a
    /// `port`, it listens there (a free one otherwise).
    init(secrets: [String] = [], certificates: TestCertificates? = nil, port requestedPort: Int = 0) async throws {
        let directory = NSTemporaryDirectory() + "webhook-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.directory = directory
        let script = directory + "/server.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, directory + "/port", directory + "/requests.jsonl"]
        var environment = [
            "SECRETS": secrets.joined(separator: ","), "PATH": "/usr/bin:/bin", "PORT": String(requestedPort),
        ]
        if let certificates {
            environment["CERT"] = certificates.serverCertificate
            environment["KEY"] = certificates.serverKey
        }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.scheme = certificates == nil ? "http" : "https"
        var port: Int?
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: directory + "/port", encoding: .utf8),
                let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                port = value
                break
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        guard let port else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw TestServerError(
                description:
                    "the Python webhook server did not start "
                    + "(exit status \(process.isRunning ? -1 : process.terminationStatus))"
            )
        }
        self.port = port
    }

    /// `scheme://127.0.0.1:port/path`.
    func url(_ path: String) -> String { "\(scheme)://127.0.0.1:\(port)\(path)" }

    /// Every request received so far, in arrival order.
    func requests() -> [Request] {
        guard let text = try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return Request(
                path: object["path"] as? String ?? "",
                webhookID: object["id"] as? String ?? "",
                timestamp: object["timestamp"] as? String ?? "",
                signature: object["signature"] as? String ?? "",
                signatureValid: object["signature_valid"] as? Bool,
                contentType: object["content_type"] as? String ?? "",
                body: object["body"] as? String ?? "",
                attempt: object["attempt"] as? Int ?? 0,
                status: object["status"] as? Int ?? 0,
                receivedAt: object["time"] as? Double ?? 0,
                headers: object["headers"] as? [String: String] ?? [:]
            )
        }
    }

    /// Stops the server: SIGKILL to the process this object started, by its PID (it keeps
    /// no state worth a graceful stop), then a bounded wait for Foundation to reap it.
    /// `Process.waitUntilExit` is not used: it can hang when called from a Swift task.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<200 where process.isRunning { usleep(10_000) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    private static let script = #"""
        import base64, hashlib, hmac, http.server, json, os, signal, socketserver, ssl, sys, threading, time

        # Children of Swift's thread pool inherit a blocked signal mask: let SIGTERM work again.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])

        port_file, log_file = sys.argv[1], sys.argv[2]
        secrets = [s for s in os.environ.get("SECRETS", "").split(",") if s]
        lock = threading.Lock()
        counts = {}

        def expected_signature(wid, ts, body):
            signed = ("%s.%s." % (wid, ts)).encode() + body
            entries = []
            for secret in secrets:
                key = base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret)
                entries.append("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode())
            return " ".join(entries)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                try:
                    self.handle_post()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def handle_post(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                path = self.path.split("?")[0]
                wid = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                sig = self.headers.get("webhook-signature", "")
                valid = (sig == expected_signature(wid, ts, body)) if secrets else None
                with lock:
                    attempt = counts.get((path, wid), 0) + 1
                    counts[(path, wid)] = attempt
                parts = path.strip("/").split("/")
                status, extra = 200, {}
                if parts[0] == "flaky":
                    status = 503 if attempt <= int(parts[1]) else 200
                elif parts[0] == "retry-after":
                    if attempt == 1:
                        status, extra = 503, {"Retry-After": parts[1]}
                elif parts[0] == "status":
                    status = int(parts[1])
                elif parts[0] == "slow":
                    time.sleep(int(parts[1]) / 1000.0)
                elif parts[0] == "redirect":
                    status, extra = 302, {"Location": "/ok"}
                elif parts[0] == "redirect-to":
                    import urllib.parse
                    status, extra = 302, {"Location": urllib.parse.unquote(parts[1])}
                record = {
                    "path": path, "id": wid, "timestamp": ts, "signature": sig, "signature_valid": valid,
                    "content_type": self.headers.get("content-type", ""), "body": body.decode("utf-8", "replace"),
                    "attempt": attempt, "status": status, "time": time.time(),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }
                with lock:
                    with open(log_file, "a") as f:
                        f.write(json.dumps(record) + "\n")
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        server = Server(("127.0.0.1", int(os.environ.get("PORT", "0"))), Handler)
        if os.environ.get("CERT"):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(os.environ["CERT"], os.environ["KEY"])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(port_file + ".tmp", port_file)
        server.serve_forever()
        """#
}

struct TestServerError: Error, CustomStringConvertible {
    var description: String
}
