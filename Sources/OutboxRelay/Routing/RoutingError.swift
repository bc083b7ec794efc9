/// A mistake in a routing table.
public struct RoutingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of mistake. Extensible: switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable { case invalidPattern, unknownTransport, emptyDestinations }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// An event pattern is not a valid glob.
        public static let invalidPattern = Code(.invalidPattern)
        /// A route names a transport that is not configured.
        public static let unknownTransport = Code(.unknownTransport)
        /// A route sends nowhere.
        public static let emptyDestinations = Code(.emptyDestinations)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail }
}
