import Foundation
import Testing

@testable import OutboxMySQL

/// A MariaDB server of one test's own, in a temporary folder on a free loopback port, that the
/// test may stop (`SIGTERM` or `SIGKILL`) and start again on the same data directory and port.
///
/// Needs Debian's `mariadb-server` binaries (`mariadb-install-db`, `mariadbd`), as
/// `.ci/with-mysql.sh` does; run as root, the server runs as the `mysql` user. Only the
/// process this type started is signalled, by its PID.
final class MariaDBServer: @unchecked Sendable {
    let directory: String
    let port: Int
    let user = "outbox"
    let password = "restart-\(UInt32.random(in: 0...UInt32.max))"
    let database = "outbox_test"
    private let serverBinary: String
    private let runAs: String
    private var process: Process?

    /// `mysql://outbox:…@127.0.0.1:PORT/outbox_test` plus `query` (e.g. short timeouts).
    func url(query: String = "") -> String {
        "mysql://\(user):\(password)@127.0.0.1:\(port)/\(database)" + (query.isEmpty ? "" : "?" + query)
    }

    /// Creates the data directory, starts the server and creates the test user and database.
    /// - Parameter options: extra `mariadbd` options, e.g. `--max-allowed-packet=16K`.
    init(options: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let candidates = ["/usr/sbin/mariadbd", "/usr/bin/mariadbd"]
        serverBinary = try #require(
            candidates.first { FileManager.default.isExecutableFile(atPath: $0) },
            "no mariadbd: apt-get install -y mariadb-server",
            sourceLocation: sourceLocation
        )
        runAs = getuid() == 0 ? "mysql" : NSUserName()
        directory = NSTemporaryDirectory() + "outbox-mariadb-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        self.options = options
        if getuid() == 0 { try Self.run("/usr/bin/chown", [runAs, directory]) }
        try Self.run(
            "/usr/bin/mariadb-install-db",
            [
                "--no-defaults", "--datadir=\(directory)/data", "--auth-root-authentication-method=normal",
                "--skip-test-db", "--user=\(runAs)",
            ]
        )
        try start()
        let root = try MySQLConnection.connect(
            MySQLConnectionURL("mysql://root@localhost/?socket=\(directory)/mysqld.sock"),
            multiStatements: true
        )
        try root.executeScript(
            """
            CREATE DATABASE `\(database)` CHARACTER SET utf8mb4;
            CREATE USER '\(user)'@'127.0.0.1' IDENTIFIED BY '\(password)';
            GRANT ALL PRIVILEGES ON *.* TO '\(user)'@'127.0.0.1'
            """
        )
    }

    /// Extra `mariadbd` options; a change applies from the next ``start()``.
    var options: [String]

    deinit {
        thaw()
        stop(signal: SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts `mariadbd` and waits (up to 60 s) until it answers on its socket.
    func start() throws {
        precondition(process == nil, "the server is already running")
        let server = Process()
        server.executableURL = URL(fileURLWithPath: serverBinary)
        server.arguments =
            [
                "--no-defaults", "--datadir=\(directory)/data", "--socket=\(directory)/mysqld.sock",
                "--port=\(port)", "--bind-address=127.0.0.1", "--pid-file=\(directory)/mysqld.pid",
                "--log-error=\(directory)/server.log", "--tmpdir=\(directory)", "--user=\(runAs)",
                "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=32M",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
            ] + options
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        process = server
        let deadline = ContinuousClock.now + .seconds(60)
        let probe = try MySQLConnectionURL(
            "mysql://root@localhost/?socket=\(directory)/mysqld.sock&connect-timeout=2s&read-timeout=2s"
        )
        while ContinuousClock.now < deadline {
            if (try? MySQLConnection.connect(probe).scalar("SELECT 1")) == "1" { return }
            guard server.isRunning else { break }
            usleep(50_000)
        }
        let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
        Issue.record("mariadbd did not come up:\n\(log.suffix(2000))")
        throw CancellationError()
    }

    /// Signals the server this type started (`SIGTERM`: clean shutdown, `SIGKILL`: crash) and
    /// waits for it to exit.
    func stop(signal: Int32 = SIGTERM) {
        guard let process else { return }
        self.process = nil
        if process.isRunning { kill(process.processIdentifier, signal) }
        process.waitUntilExit()
    }

    /// `SIGSTOP`s the server: the kernel still accepts TCP connections on its port, but nothing
    /// answers them (a server that hangs, or is half up). ``thaw()`` resumes it.
    func freeze() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGSTOP)
        // kill(2) returns before every thread has stopped: wait for the state `T` in /proc.
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let stat = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)) ?? ""
            if let end = stat.lastIndex(of: ")"), stat[stat.index(end, offsetBy: 2)] == "T" { return }
            usleep(10_000)
        }
    }

    /// `SIGCONT`s a frozen server.
    func thaw() {
        if let process, process.isRunning { kill(process.processIdentifier, SIGCONT) }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            Issue.record("\(executable) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
            throw CancellationError()
        }
    }

    /// A TCP port nobody listens on right now.
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw CancellationError() }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
