extension KafkaTransport {
    /// Everything a ``KafkaTransport`` needs: where the cluster is, where each message goes, what
    /// it looks like on the wire, and any librdkafka property to pass through.
    ///
    /// Defaults are what a careful Kafka engineer expects: the idempotent producer
    /// (`enable.idempotence=true`, hence `acks=all` and ordered retries), the message key is the
    /// aggregate root id, Java-compatible `murmur2_random` partitioning, the stored envelope as
    /// the value, and the standard headers listed in ``Headers``.
    public struct Configuration: Sendable, Hashable {
        /// The bootstrap brokers, `host:port` each (librdkafka `bootstrap.servers`).
        public var bootstrapServers: [String]

        /// The topic each message goes to, as a template. Placeholders: `{event_type}`,
        /// `{aggregate_root_type}`, `{aggregate_root_id_type}`, `{header.NAME}` (any EventSauce
        /// header, e.g. `{header.__event_type}` or `{header.x-tenant}`). A missing value renders
        /// empty. In each substituted value every character Kafka rejects in a topic name
        /// (anything but `a-z A-Z 0-9 . _ -`) becomes `_`; the literal text of the template must
        /// be valid already. The result is cut to 249 characters (Kafka's limit). A message whose
        /// topic renders empty, `.` or `..` fails permanently (dead-lettered).
        public var topic: String

        /// The message key, as a template over the placeholders of ``topic`` plus
        /// `{aggregate_root_id}` and `{event_id}` (no character replacement: keys are bytes).
        /// A key that renders empty is sent as a null key. Default `{aggregate_root_id}`, so all
        /// events of an aggregate land in one partition, in order.
        public var key: String

        /// What the Kafka message value holds. Default ``ValueFormat/envelope``.
        public var valueFormat: ValueFormat

        /// Which headers each Kafka message carries. Default: the standard ones, plus the custom
        /// EventSauce headers when the value does not already carry them (see
        /// ``Headers/custom``).
        public var headers: Headers

        /// CloudEvents settings, used with ``ValueFormat/cloudEvents``.
        public var cloudEvents: CloudEvents

        /// How keys map to partitions (librdkafka `partitioner`). Default
        /// ``Partitioner/murmur2Random``: the Java client's partitioner, so Java and librdkafka
        /// producers put a key in the same partition (null keys spread randomly).
        public var partitioner: Partitioner

        /// Time limits.
        public var timeouts: Timeouts

        /// librdkafka properties passed through unchanged, applied after the settings above so
        /// they win: TLS (`security.protocol`, `ssl.ca.location`, …), SASL (`sasl.mechanisms`,
        /// `sasl.username`, `sasl.password`), `compression.type`, `linger.ms`, `client.id`, ….
        /// Values are never logged.
        public var properties: [String: String]

        /// How many librdkafka topic handles the producer keeps open at most. A templated topic
        /// can name a new topic per aggregate or tenant; once this many are open, the handles
        /// the next batch does not use are released (librdkafka keeps the topics of messages
        /// still in flight alive on its own) and recreated on next use. A single batch with more
        /// distinct topics holds them all while it is produced. Default 1000.
        public var maximumTopicHandles: Int = 1000

        /// How often librdkafka reports its statistics (`statistics.interval.ms`), from which
        /// the transport's ``KafkaMetrics`` (queue depth, broker round-trip time, send errors)
        /// are refreshed. Default 15 s (at most one day); `.zero` turns them off. Statistics are asked for only
        /// when a swift-metrics backend records (``KafkaTransport/init(name:configuration:metrics:logger:)``);
        /// a `statistics.interval.ms` in ``properties`` wins.
        public var statisticsInterval: Duration = .seconds(15)

        /// Creates a configuration; every other setting has the default documented on it.
        public init(
            bootstrapServers: [String],
            topic: String,
            key: String = "{aggregate_root_id}",
            valueFormat: ValueFormat = .envelope,
            headers: Headers = Headers(),
            cloudEvents: CloudEvents = CloudEvents(),
            partitioner: Partitioner = .murmur2Random,
            timeouts: Timeouts = Timeouts(),
            properties: [String: String] = [:]
        ) {
            self.bootstrapServers = bootstrapServers
            self.topic = topic
            self.key = key
            self.valueFormat = valueFormat
            self.headers = headers
            self.cloudEvents = cloudEvents
            self.partitioner = partitioner
            self.timeouts = timeouts
            self.properties = properties
        }

        /// What a Kafka message value holds.
        public enum ValueFormat: String, Sendable, Hashable, CaseIterable {
            /// The stored EventSauce message, byte for byte: `{"headers":{…},"payload":{…}}`.
            case envelope
            /// Only the inner `payload` value, as stored.
            case payload
            /// CloudEvents 1.0 Kafka protocol binding, binary mode: the value is the inner
            /// payload, attributes travel as `ce_*` headers (see ``CloudEvents``) and
            /// `content-type: application/json`.
            case cloudEvents = "cloudevents"
        }

        /// Which headers each Kafka message carries (values are UTF-8 text).
        public struct Headers: Sendable, Hashable {
            /// Adds the standard headers. Default `true`. Names (each only when the message
            /// has the value):
            /// - `event_id`: `__event_id` (or the id derived from table and row id)
            /// - `event_type`: `__event_type`
            /// - `aggregate_root_id`, `aggregate_root_id_type`, `aggregate_root_type`
            /// - `aggregate_root_version`: decimal
            /// - `time_of_recording`: RFC 3339 UTC with microseconds
            ///   (e.g. `2024-03-14T05:04:50.163498Z`), or the stored text when unparseable
            public var standard: Bool
            /// Forwards every EventSauce header whose name does not start with `__` (e.g.
            /// `x-request-id`) under its own name; strings as they are, other values as JSON.
            ///
            /// Default `nil`, automatic: forwarded with ``ValueFormat/payload`` and
            /// ``ValueFormat/cloudEvents``, whose value is the inner payload only; not with
            /// ``ValueFormat/envelope``, whose value already holds every header (as Debezium's
            /// outbox router adds no headers unless asked). Forwarding them anyway costs
            /// librdkafka an allocation per header and every record their bytes on the wire.
            public var custom: Bool?
            /// Whether custom headers go out with `format`.
            public func forwardsCustomHeaders(with format: ValueFormat) -> Bool {
                custom ?? (format != .envelope)
            }
            /// Fixed headers added to every message. Default none.
            public var fixed: [String: String]

            /// Creates header settings; defaults as documented on each property.
            public init(standard: Bool = true, custom: Bool? = nil, fixed: [String: String] = [:]) {
                self.standard = standard
                self.custom = custom
                self.fixed = fixed
            }
        }

        /// CloudEvents attributes for ``ValueFormat/cloudEvents``.
        ///
        /// Headers written: `ce_specversion: 1.0`, `ce_id` (the event id), `ce_type` (the event
        /// type), `ce_source` (``source``), `ce_time` (time of recording, RFC 3339, when known),
        /// `ce_subject` (the aggregate root id, when present) and `content-type: application/json`.
        public struct CloudEvents: Sendable, Hashable {
            /// The `ce_source` attribute, a URI reference naming the producer. Default
            /// `outbox-relay`.
            public var source: String

            /// Creates CloudEvents settings.
            public init(source: String = "outbox-relay") {
                self.source = source
            }
        }

        /// librdkafka's partitioners.
        public enum Partitioner: String, Sendable, Hashable, CaseIterable {
            /// Random partition per message.
            case random
            /// CRC32 of the key; empty and null keys go to one partition.
            case consistent
            /// CRC32 of the key; empty and null keys are spread randomly (librdkafka's default).
            case consistentRandom = "consistent_random"
            /// The Java client's murmur2 of the key; null keys go to one partition.
            case murmur2
            /// The Java client's murmur2 of the key; null keys are spread randomly (the Java
            /// client's default).
            case murmur2Random = "murmur2_random"
            /// FNV-1a of the key; empty and null keys go to one partition.
            case fnv1a
            /// FNV-1a of the key; null keys are spread randomly.
            case fnv1aRandom = "fnv1a_random"
        }

        /// Time limits of the transport.
        public struct Timeouts: Sendable, Hashable {
            /// How long `start()` (and `checkTopics`) wait for the cluster's metadata.
            /// Default 10 s.
            public var connect: Duration
            /// How long librdkafka keeps trying to deliver one message, retries included
            /// (`message.timeout.ms`), before the message is reported retryable to the engine,
            /// which then backs off and resends. Default 30 s (librdkafka's own default is 5 min).
            public var delivery: Duration
            /// How long `shutdown()` waits for messages in flight before purging them.
            /// Default 10 s.
            public var flush: Duration

            /// Creates time limits; defaults as documented on each property.
            public init(
                connect: Duration = .seconds(10),
                delivery: Duration = .seconds(30),
                flush: Duration = .seconds(10)
            ) {
                self.connect = connect
                self.delivery = delivery
                self.flush = flush
            }
        }

        /// Checks the templates, the fixed header names and every librdkafka property
        /// (without connecting).
        /// - Throws: ``KafkaTransportError`` with ``KafkaTransportError/Code/invalidConfiguration``
        ///   and ``KafkaTransportError/setting`` naming what is wrong (property values are
        ///   never included in the message).
        public func validate() throws(KafkaTransportError) {
            guard !bootstrapServers.isEmpty else {
                throw KafkaTransportError(
                    code: .invalidConfiguration,
                    message: "no bootstrap servers",
                    setting: "bootstrap_servers"
                )
            }
            _ = try KafkaRecordEncoder(configuration: self)
            RDKafkaConfiguration.destroy(try RDKafkaConfiguration.make(librdkafkaProperties))
        }

        /// The librdkafka properties this configuration sets, in the order they are applied:
        /// the transport's defaults first, then ``properties``.
        var librdkafkaProperties: [(key: String, value: String)] {
            var result: [(String, String)] = [
                ("bootstrap.servers", bootstrapServers.joined(separator: ",")),
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("partitioner", partitioner.rawValue),
                ("message.timeout.ms", String(Self.milliseconds(timeouts.delivery))),
                ("socket.nagle.disable", "true"),
            ]
            for key in properties.keys.sorted() {
                result.append((key, properties[key]!))
            }
            return result
        }

        static func milliseconds(_ duration: Duration) -> Int {
            max(0, Int(duration.milliseconds))
        }
    }
}
