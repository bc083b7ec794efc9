import Testing

@testable import OutboxMySQL

@Suite("MySQL connection URLs")
struct MySQLConnectionURLTests {
    @Test("user, percent-decoded password, host, port and database; TLS off on loopback by default")
    func tcpURL() throws {
        let url = try MySQLConnectionURL("mysql://relay:p%40ss%3Aw0rd@127.0.0.1:3307/shop")
        #expect(url.user == "relay")
        #expect(url.password == "p@ss:w0rd")
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 3307)
        #expect(url.database == "shop")
        #expect(url.socket == nil)
        #expect(url.tlsMode == .disabled)
        #expect(url.connectTimeout == .seconds(10))
    }

    @Test("mariadb:// with a Unix socket, TLS files, timeouts; a remote host verifies TLS by default")
    func parameters() throws {
        let socket = try MySQLConnectionURL("mariadb://app@localhost/db?socket=/run/mysqld/mysqld.sock")
        #expect(socket.scheme == "mariadb")
        #expect(socket.socket == "/run/mysqld/mysqld.sock")
        #expect(socket.port == 3306)
        let remote = try MySQLConnectionURL(
            "mysql://app@db.example.com/db?ssl-ca=/ca.pem&ssl-cert=/c.pem&ssl-key=/k.pem"
                + "&connect-timeout=2s&read_timeout=500ms&write-timeout=90"
        )
        #expect(remote.tlsMode == .verifyIdentity)
        #expect(remote.tlsCA == "/ca.pem")
        #expect(remote.tlsCertificate == "/c.pem")
        #expect(remote.tlsKey == "/k.pem")
        #expect(remote.connectTimeout == .seconds(2))
        #expect(remote.readTimeout == .milliseconds(500))
        #expect(remote.writeTimeout == .seconds(90))
        #expect(try MySQLConnectionURL("mysql://h/db?ssl-mode=required").tlsMode == .required)
        #expect(try MySQLConnectionURL("mysql://h/db?ssl-mode=verify-ca").tlsMode == .verifyCA)
        #expect(try MySQLConnectionURL("mysql://[::1]:3310/db").host == "::1")
        #expect(try MySQLConnectionURL("mysql://[::1]:3310/db").port == 3310)
    }

    @Test("the password never appears in redacted text or in errors")
    func redaction() throws {
        let url = try MySQLConnectionURL("mysql://relay:s3cret@db:3306/shop")
        #expect(url.redacted == "mysql://relay:***@db:3306/shop")
        #expect(!"\(url)".contains("s3cret"))
        let error = #expect(throws: MySQLError.self) { try MySQLConnectionURL("mysql://relay:s3cret@db:99999/shop") }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("s3cret") == false)
        #expect(error?.message.contains("99999") == true)
    }

    @Test("unknown parameters, bad ssl-mode, bad timeouts, wrong scheme and a lone ssl-cert are refused")
    func mistakes() {
        for text in [
            "mysql://h/db?sslmode=REQUIRED", "mysql://h/db?ssl-mode=ALWAYS", "mysql://h/db?connect-timeout=soon",
            "postgres://h/db", "mysql://h/db?ssl-cert=/c.pem", "mysql://h/db?password=x",
        ] {
            #expect(throws: MySQLError.self, "\(text)") { try MySQLConnectionURL(text) }
        }
    }

    @Test("lock names: database and table, hashed beyond GET_LOCK's 64 characters")
    func lockNames() {
        #expect(MySQLSource.lockName(database: "shop", table: "outbox_messages") == "outbox-relay:shop.outbox_messages")
        let long = MySQLSource.lockName(database: String(repeating: "d", count: 60), table: "outbox_messages")
        #expect(long.utf8.count <= 64)
        #expect(long != MySQLSource.lockName(database: String(repeating: "d", count: 60), table: "outbox_message"))
    }
}
