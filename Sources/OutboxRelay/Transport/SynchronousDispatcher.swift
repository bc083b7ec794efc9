/// A transport that hands messages to Swift ``MessageConsumer``s in this process.
///
/// The Swift counterpart of EventSauce's `SynchronousMessageDispatcher`: consumers are
/// registered by event-type pattern, and each message goes to every consumer whose pattern
/// matches, one after another, in batch order. A message is delivered when every matching
/// consumer returned; when one throws, the later messages of the same aggregate in the batch
/// are not handed over (they are retried after it), so consumers see each aggregate in order.
public struct SynchronousDispatcher: Transport {
    /// One registered consumer.
    public struct Registration: Sendable {
        /// The event types the consumer wants.
        public var events: EventTypePattern
        /// The consumer.
        public var consumer: any MessageConsumer

        public init(events: EventTypePattern, consumer: any MessageConsumer) {
            self.events = events
            self.consumer = consumer
        }
    }

    public let name: String
    /// The consumers, in call order.
    public let registrations: [Registration]

    /// Creates a dispatcher named `name` (routes refer to it by that name).
    public init(name: String = "in-process", consumers registrations: [Registration]) {
        self.name = name
        self.registrations = registrations
    }

    /// Creates a dispatcher with one consumer for every event type.
    public init(name: String = "in-process", consumer: any MessageConsumer) {
        self.init(name: name, consumers: [Registration(events: try! EventTypePattern("*"), consumer: consumer)])
    }

    public func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        var results: [DeliveryResult] = []
        results.reserveCapacity(batch.count)
        var heldBack = HeldBackOrderingKeys()
        for message in batch {
            if heldBack.holdsBack(message) {
                results.append(.retryable("not attempted: an earlier message of the same aggregate failed"))
                continue
            }
            var result = DeliveryResult.delivered
            for registration in registrations where registration.events.matches(message.eventType) {
                do {
                    try await registration.consumer.handle(message)
                } catch let error as PermanentDeliveryError {
                    result = .permanent(error.reason)
                    break
                } catch {
                    result = .retryable(String(describing: error))
                    heldBack.holdBack(after: message)
                    break
                }
            }
            results.append(result)
        }
        return results
    }
}
