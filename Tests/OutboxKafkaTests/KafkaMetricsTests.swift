import Foundation
import MetricsTestKit
import OutboxRelay
import Testing

@testable import OutboxKafka

/// librdkafka's statistics, reduced to ``KafkaMetrics`` and recorded into MetricsTestKit's
/// `TestMetrics`: a report as librdkafka 2.0 writes it, and a live producer on the mock cluster.
@Suite("KafkaMetrics", .serialized)
struct KafkaMetricsTests {
    typealias Name = KafkaMetrics.Name

    /// A trimmed librdkafka 2.0.2 statistics report (layout of STATISTICS.md): the internal
    /// broker and a topic with partitions that the reader skips.
    static func report(messages: Int, bytes: Int, txerrs: Int, rttCount: Int = 4) -> String {
        #"""
        {"name":"rdkafka#producer-1","client_id":"rdkafka","type":"producer","ts":5016483227792,"time":1527060869,
        "replyq":0,"msg_cnt":\#(messages),"msg_size":\#(bytes),"msg_max":100000,"msg_size_max":1073741824,
        "simple_cnt":0,"metadata_cache_cnt":1,
        "brokers":{
          "localhost:9092/2":{"name":"localhost:9092/2","nodeid":2,"nodename":"localhost:9092","source":"learned",
            "state":"UP","stateage":9057234,"outbuf_cnt":0,"outbuf_msg_cnt":0,"waitresp_cnt":0,"tx":320,
            "txbytes":84283332,"txerrs":\#(txerrs),"txretries":0,"req_timeouts":0,"rx":320,"rxbytes":15708,
            "rxerrs":0,"int_latency":{"min":0,"max":0,"avg":0,"sum":0,"cnt":0},
            "rtt":{"min":1580,"max":3389,"avg":2349,"sum":79868,"stddev":470,"p50":2287,"p75":2543,"p90":2815,
              "p95":2975,"p99":3311,"p99_99":3389,"outofrange":0,"hdrsize":13424,"cnt":\#(rttCount)},
            "toppars":{"test-0":{"topic":"test","partition":0}}},
          ":0/internal":{"name":":0/internal","nodeid":-1,"nodename":"","source":"internal","state":"INIT",
            "txerrs":7,"rtt":{"avg":0,"p99":0,"cnt":0}}
        },
        "topics":{"test":{"topic":"test","partitions":{"0":{"partition":0,"msgq_cnt":2,"msgq_bytes":20}}}},
        "tx":320,"tx_bytes":84283332,"txmsgs":1000,"txmsg_bytes":8000000}
        """#
    }

    static func parse(_ text: String) throws -> KafkaStatisticsReport {
        try Array(text.utf8).withUnsafeBufferPointer { try KafkaStatisticsReport(json: $0) }
    }

    @Test("a statistics report: queue depth, broker round trips in µs, cumulative send errors")
    func parsesReport() throws {
        let report = try Self.parse(Self.report(messages: 12, bytes: 3456, txerrs: 3))
        #expect(report.queueMessages == 12)
        #expect(report.queueBytes == 3456)
        #expect(
            report.brokers == [
                .init(
                    name: "localhost:9092",
                    transmitErrors: 3,
                    roundTripCount: 4,
                    roundTripAverage: 2349,
                    roundTripP99: 3311
                )
            ]
        )
        #expect(throws: JSONParseError.self) { try Self.parse(#"{"msg_cnt":1,"#) }
    }

    @Test("the recorder exports gauges in seconds and turns cumulative errors into increments")
    func recorder() throws {
        let metrics = TestMetrics()
        let recorder = KafkaStatisticsRecorder(metrics: KafkaMetrics(destination: "kafka", factory: metrics))
        recorder.record(try Self.parse(Self.report(messages: 12, bytes: 3456, txerrs: 3)))
        recorder.record(try Self.parse(Self.report(messages: 0, bytes: 0, txerrs: 5, rttCount: 0)))
        let labels = [("destination", "kafka")]
        let broker = labels + [("broker", "localhost:9092")]
        let queue = try metrics.expectGauge(Name.queueMessages, labels)
        #expect(queue.values == [12, 0])
        #expect(try metrics.expectGauge(Name.queueBytes, labels).values == [3456, 0])
        // The second interval had no request: the round trips keep their last value.
        #expect(try metrics.expectGauge(Name.brokerRoundTripAverage, broker).values == [0.002349])
        #expect(try metrics.expectGauge(Name.brokerRoundTripP99, broker).values == [0.003311])
        #expect(try metrics.expectCounter(Name.brokerTransmitErrors, broker).totalValue == 5)
        // The internal broker is not exported.
        #expect(throws: (any Error).self) {
            try metrics.expectCounter(Name.brokerTransmitErrors, labels + [("broker", "")])
        }
        // After a recreated handle, counts start from 0 again.
        recorder.handleRecreated()
        recorder.record(try Self.parse(Self.report(messages: 0, bytes: 0, txerrs: 2)))
        #expect(try metrics.expectCounter(Name.brokerTransmitErrors, broker).totalValue == 7)
    }

    @Test("a live producer on the mock cluster reports queue depth and the brokers' round trips")
    func liveStatistics() async throws {
        let cluster = try MockKafkaCluster(brokers: 2)
        for broker in Int32(1)...2 { cluster.setBrokerRoundTripTime(broker, milliseconds: 30) }
        let metrics = TestMetrics()
        var configuration = KafkaTransport.Configuration(
            bootstrapServers: [cluster.bootstrapServers],
            topic: KafkaTestSupport.topicName("stats")
        )
        configuration.timeouts.connect = .seconds(5)
        configuration.statisticsInterval = .milliseconds(100)
        let transport = try KafkaTransport(name: "orders", configuration: configuration, metrics: metrics)
        try await transport.start()
        let messages = try KafkaTestSupport.messages(count: 40, aggregates: 8)
        let results = await transport.deliver(messages)
        #expect(results.allSatisfy { $0.isDelivered })

        let labels = [("destination", "orders")]
        // Reports keep coming while the producer thread polls; wait for one with round trips.
        let deadline = ContinuousClock.now + .seconds(10)
        var averages: [Double] = []
        let queue = try metrics.expectGauge(Name.queueMessages, labels)
        while ContinuousClock.now < deadline {
            averages = metrics.recorders.filter { $0.label == Name.brokerRoundTripAverage }.compactMap(\.lastValue)
            // A report taken before the last acknowledgement may still show messages queued.
            if averages.contains(where: { $0 > 0 }) && queue.lastValue == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await transport.shutdown()
        let rtt = try #require(averages.max())
        // The mock adds 30 ms per request.
        #expect(rtt >= 0.025, "broker rtt \(rtt) s")
        #expect(rtt < 5)
        let brokers = metrics.recorders.filter { $0.label == Name.brokerRoundTripP99 }
        #expect(brokers.allSatisfy { $0.dimensions.contains { $0.0 == "destination" && $0.1 == "orders" } })
        #expect(brokers.allSatisfy { $0.dimensions.contains { $0.0 == "broker" && $0.1.contains(":") } })
        #expect(!queue.values.isEmpty)
        #expect(queue.lastValue == 0, "every message was acknowledged")
        #expect(try metrics.expectGauge(Name.queueBytes, labels).lastValue == 0)
    }

    @Test("the README's Monitoring section names exactly the Kafka metrics there are, the dashboard only those")
    func readmeNamesThem() throws {
        let readme = try String(contentsOfFile: KafkaTestSupport.repositoryRoot + "/README.md", encoding: .utf8)
        let section = try #require(readme.range(of: "### Monitoring").map { readme[$0.lowerBound...] })
        let named = Set(section.matches(of: /outbox_relay_kafka_[a-z0-9_]+/).map { String($0.output) })
        let defined: Set = [
            Name.queueMessages, Name.queueBytes, Name.brokerRoundTripAverage, Name.brokerRoundTripP99,
            Name.brokerTransmitErrors,
        ]
        #expect(named == defined)
        let dashboard = try String(
            contentsOfFile: KafkaTestSupport.repositoryRoot + "/Examples/Grafana/outbox-relay-dashboard.json",
            encoding: .utf8
        )
        let charted = Set(dashboard.matches(of: /outbox_relay_kafka_[a-z0-9_]+/).map { String($0.output) })
        #expect(!charted.isEmpty && charted.isSubset(of: defined), "\(charted)")
    }

    @Test("with a statistics interval of zero, no statistics are asked for")
    func offWithoutBackend() async throws {
        let cluster = try MockKafkaCluster(brokers: 1)
        let metrics = TestMetrics()
        var configuration = KafkaTransport.Configuration(
            bootstrapServers: [cluster.bootstrapServers],
            topic: KafkaTestSupport.topicName("nostats")
        )
        configuration.timeouts.connect = .seconds(5)
        configuration.statisticsInterval = .zero
        let transport = try KafkaTransport(name: "quiet", configuration: configuration, metrics: metrics)
        try await transport.start()
        _ = await transport.deliver(try KafkaTestSupport.messages(count: 5, aggregates: 1))
        try await Task.sleep(for: .milliseconds(300))
        await transport.shutdown()
        #expect(try metrics.expectGauge(Name.queueMessages, [("destination", "quiet")]).values.isEmpty)
    }
}
