import Testing

@testable import OutboxPostgres

@Suite("PostgreSQL connection strings")
struct PostgresConnectionStringTests {
    @Test("URIs and key=value strings pass through; a postgres: prefix before key=value is dropped")
    func normalisation() {
        #expect(
            PostgresConnectionString("postgres://u@h/db?sslmode=verify-full").conninfo
                == "postgres://u@h/db?sslmode=verify-full"
        )
        #expect(PostgresConnectionString("postgresql://h/db").conninfo == "postgresql://h/db")
        #expect(PostgresConnectionString("postgres:host=h dbname=d").conninfo == "host=h dbname=d")
        #expect(PostgresConnectionString("host=h sslmode=require").conninfo == "host=h sslmode=require")
        #expect(PostgresConnectionString("").conninfo == "")
    }

    @Test(
        "libpq's parser decides what is secret: passwords and sslpassword are hidden in URIs and key=value strings",
        arguments: [
            (
                "postgres://app:s3cr%40t@db:5432/shop?sslmode=require",
                ["user=app", "host=db", "port=5432", "dbname=shop"]
            ),
            ("postgresql://app@db/shop?password=s3cr3t&sslpassword=k3yp4ss", ["user=app", "password=***"]),
            ("host=db password=s3cr3t user=app sslpassword=k3yp4ss", ["host=db", "user=app", "sslpassword=***"]),
            ("host=db password = 'it\\'s s3cr3t' user=app", ["host=db", "password=***", "user=app"]),
            // An unescaped '/' in the password: libpq reads the URI its own way; nothing secret shows.
            ("postgres://app:pa/ss@db/shop", []),
            ("postgres://db/shop", ["host=db", "dbname=shop"]),
        ]
    )
    func redaction(text: String, shown: [String]) {
        let redacted = PostgresConnectionString(text).redacted
        for secret in ["s3cr", "k3yp4ss", "pa/ss", "it\\'s"] {
            #expect(!redacted.contains(secret), "\(redacted)")
        }
        for pair in shown {
            #expect(redacted.split(separator: " ").contains(Substring(pair)), "\(pair) missing in \(redacted)")
        }
    }

    @Test("text libpq cannot parse is not shown")
    func unparseable() {
        let redacted = PostgresConnectionString("host=db password='unterminated s3cr3t").redacted
        #expect(!redacted.contains("s3cr3t"))
        #expect(redacted.contains("cannot parse"))
    }

    @Test("the notify trigger DDL quotes names and rejects an invalid channel")
    func notifyTrigger() throws {
        let ddl = try PostgresSchema.notifyTrigger(table: SQLIdentifier("app.outbox_messages"), channel: "outbox")
        #expect(ddl.contains("CREATE TRIGGER \"outbox_relay_notify\" AFTER INSERT ON \"app\".\"outbox_messages\""))
        #expect(ddl.contains("FOR EACH STATEMENT"))
        #expect(ddl.contains("pg_notify('outbox', '')"))
        #expect(throws: SQLIdentifierError.self) {
            _ = try PostgresSchema.notifyTrigger(table: SQLIdentifier("t"), channel: "x'); DROP TABLE t; --")
        }
    }
}
