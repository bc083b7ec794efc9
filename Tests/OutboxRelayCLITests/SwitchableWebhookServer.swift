import Foundation

/// A real webhook receiver on 127.0.0.1 (Python's `http.server`) that answers 400 until
/// ``accept()`` is called and 200 afterwards, checks Standard Webhooks signatures with its own
/// HMAC, and records every request.
final class SwitchableWebhookServer: @unchecked Sendable {
    struct Request: Sendable {
        var webhookID: String
        var body: String
        var signatureValid: Bool
        var status: Int
    }

    let port: Int
    private let process: Process
    private let directory: String

    init(secret: String) async throws {
        directory = NSTemporaryDirectory() + "switchable-webhook-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = directory + "/server.py"
        try Self.script.write(toFile: script, atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [script, directory]
        process.environment = ["SECRET": secret, "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var port: Int?
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: directory + "/port", encoding: .utf8), let value = Int(text) {
                port = value
                break
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        guard let port else {
            kill(process.processIdentifier, SIGKILL)
            throw CLITestFailure("the Python webhook server did not start")
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    /// From now on every request gets 200.
    func accept() {
        FileManager.default.createFile(atPath: directory + "/accept", contents: nil)
    }

    func requests() -> [Request] {
        let text = (try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return Request(
                webhookID: object["id"] as? String ?? "",
                body: object["body"] as? String ?? "",
                signatureValid: object["valid"] as? Bool ?? false,
                status: object["status"] as? Int ?? 0
            )
        }
    }

    /// SIGKILL to the process this object started, by its PID.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<200 where process.isRunning { usleep(10_000) }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }

    private static let script = #"""
        import base64, hashlib, hmac, http.server, json, os, signal, socketserver, sys, threading

        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
        folder = sys.argv[1]
        secret = os.environ["SECRET"]
        key = base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret)
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                wid = self.headers.get("webhook-id", "")
                ts = self.headers.get("webhook-timestamp", "")
                signed = ("%s.%s." % (wid, ts)).encode() + body
                expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
                status = 200 if os.path.exists(os.path.join(folder, "accept")) else 400
                record = {"id": wid, "body": body.decode("utf-8", "replace"),
                          "valid": self.headers.get("webhook-signature", "") == expected, "status": status}
                with lock:
                    with open(os.path.join(folder, "requests.jsonl"), "a") as f:
                        f.write(json.dumps(record) + "\n")
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        with open(os.path.join(folder, "port.tmp"), "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(os.path.join(folder, "port.tmp"), os.path.join(folder, "port"))
        server.serve_forever()
        """#
}
