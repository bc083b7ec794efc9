extension KafkaTransport {
    /// What the cluster says about one topic, for `outbox-relay check`.
    public struct TopicCheck: Sendable, Hashable, CustomStringConvertible {
        /// The state of a topic.
        public enum Status: Sendable, Hashable {
            /// The topic exists with this many partitions.
            case exists(partitions: Int)
            /// The topic does not exist, but the brokers create topics on first use
            /// (`auto.create.topics.enable=true`).
            case missingButAutoCreated
            /// The topic does not exist and will not be created: producing to it fails
            /// permanently (messages are dead-lettered). The text says how that was found.
            case missing(String)
            /// The cluster's answer for this topic was an error (e.g. not authorized).
            case failed(String)
        }

        /// The topic name checked.
        public var topic: String
        /// Its state.
        public var status: Status

        /// Creates a check result.
        public init(topic: String, status: Status) {
            self.topic = topic
            self.status = status
        }

        /// Whether messages can be produced to the topic.
        public var isUsable: Bool {
            switch status {
            case .exists, .missingButAutoCreated: return true
            case .missing, .failed: return false
            }
        }

        public var description: String {
            switch status {
            case .exists(let partitions): return "\(topic): exists (\(partitions) partitions)"
            case .missingButAutoCreated: return "\(topic): missing, created by the brokers on first use"
            case .missing(let detail): return "\(topic): missing (\(detail))"
            case .failed(let detail): return "\(topic): \(detail)"
            }
        }
    }
}
