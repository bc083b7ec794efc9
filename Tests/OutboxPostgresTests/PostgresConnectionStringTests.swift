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

    @Test("passwords are redacted in URIs, query parameters and key=value pairs")
    func redaction() {
        #expect(
            PostgresConnectionString("postgres://app:s3cr%40t@db:5432/shop?sslmode=require").redacted
                == "postgres://app:***@db:5432/shop?sslmode=require"
        )
        #expect(
            PostgresConnectionString("postgresql://app@db/shop?password=s3cret&sslmode=require").redacted
                == "postgresql://app@db/shop?password=***&sslmode=require"
        )
        #expect(
            PostgresConnectionString("host=db password=s3cret user=app").redacted == "host=db password=*** user=app"
        )
        #expect(
            PostgresConnectionString("host=db password = 'it\\'s secret' user=app").redacted
                == "host=db password = *** user=app"
        )
        #expect(PostgresConnectionString("postgres://db/shop").redacted == "postgres://db/shop")
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
