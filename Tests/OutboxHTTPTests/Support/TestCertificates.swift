import Foundation

/// A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it, made with
/// the `openssl` command line tool in a temporary directory.
struct TestCertificates: Sendable {
    let directory: String
    var caCertificate: String { directory + "/ca.pem" }
    var serverCertificate: String { directory + "/server.pem" }
    var serverKey: String { directory + "/server.key" }

    static let toolAvailable: Bool = FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")

    static func make() throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "webhook-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
        subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
        keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n
        """
        .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                "-subj", "/CN=outbox-relay test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ],
            [
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj",
                "/CN=127.0.0.1",
            ],
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                "server.pem", "-days", "2", "-extfile", "server.ext",
            ],
        ]
        for arguments in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Bounded wait (Process.waitUntilExit can hang when called from a Swift task).
            for _ in 0..<3000 where process.isRunning { usleep(10_000) }
            guard !process.isRunning, process.terminationStatus == 0 else {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                throw TestServerError(
                    description: "openssl \(arguments[0]) failed with status \(process.terminationStatus)"
                )
            }
        }
        return TestCertificates(directory: directory)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
