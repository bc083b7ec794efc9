import OutboxKafka
import OutboxRelay
import Testing

@testable import OutboxRelayCLI

@Suite("KafkaTransportConfig")
struct KafkaTransportConfigTests {
    static func kafka(_ extra: String) throws -> KafkaTransport {
        let parsed = try RelayConfiguration.parse(
            yaml: """
                source: {url: "sqlite:/tmp/none.db"}
                transports: {k: {type: kafka, bootstrap_servers: "127.0.0.1:9092", topic: t\(extra)}}
                routes: [{events: "*", to: [k]}]
                """
        )
        return try #require(parsed.transports.first as? KafkaTransport)
    }

    @Test func statisticsIntervalDefaultsTo15sAndCanBeTurnedOff() throws {
        #expect(try Self.kafka("").configuration.statisticsInterval == .seconds(15))
        #expect(try Self.kafka(", statistics_interval: 2s").configuration.statisticsInterval == .seconds(2))
        #expect(try Self.kafka(", statistics_interval: 0s").configuration.statisticsInterval == .zero)
        let error = #expect(throws: ConfigError.self) { try Self.kafka(", statistics_interval: often") }
        #expect(error?.keyPath == "transports.k.statistics_interval")
    }
}
