import CRdKafka
import Logging
import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One librdkafka producer handle and the thread that owns it.
///
/// Every call on the `rd_kafka_t` happens on this thread: it produces the batches handed to
/// it, serves delivery reports (`rd_kafka_flush`, which also sends at once instead of waiting
/// for `linger.ms`), and answers metadata requests. A batch crosses threads twice: once in
/// (``deliver(_:)``), once out (one continuation resumed with all results).
///
/// After a fatal error of the idempotent producer the handle is purged, destroyed and
/// created anew; the messages in flight are reported retryable.
final class RDKafkaProducer: @unchecked Sendable {
    typealias Results = [DeliveryResult]

    /// How a batch ended. The common case carries no array: the caller's task builds the
    /// results, so the producer thread allocates nothing per batch.
    private enum Outcome: Sendable {
        case allDelivered(count: Int)
        case results(Results)

        var results: Results {
            switch self {
            case .allDelivered(let count): Array(repeating: .delivered, count: count)
            case .results(let results): results
            }
        }
    }

    private enum Command {
        case deliver(KafkaRecordBatch, UnsafeContinuation<Outcome, Never>)
        case perform(@Sendable (RDKafkaProducer) -> Void)
        case stop(flushTimeout: Duration, UnsafeContinuation<Void, Never>)
    }

    /// A batch produced and waiting for its delivery reports (producer thread only). Keeps the
    /// records alive: librdkafka reads their values from the batch's buffer until each report.
    private final class PendingBatch {
        static let unresolved: UInt8 = 0
        static let delivered: UInt8 = 1
        static let failed: UInt8 = 2

        let serial: UInt32
        let records: KafkaRecordBatch
        /// Per message: ``unresolved``, ``delivered`` or ``failed`` (with its entry in ``failures``).
        var states: [UInt8]
        var failures: [Int: DeliveryResult] = [:]
        var remaining: Int
        let continuation: UnsafeContinuation<Outcome, Never>

        init(serial: UInt32, records: KafkaRecordBatch, continuation: UnsafeContinuation<Outcome, Never>) {
            self.serial = serial
            self.records = records
            self.states = Array(repeating: Self.unresolved, count: records.count)
            self.remaining = records.count
            self.continuation = continuation
        }
    }

    let name: String
    let logger: Logger
    private let properties: [(key: String, value: String)]
    private let deliveryTimeout: Duration
    /// See ``KafkaTransport/Configuration/maximumTopicHandles``.
    private let maximumTopicHandles: Int

    // Shared state, guarded by `lock`.
    private let lock = ConditionLock()
    private var commands: [Command] = []
    private var isStopped = false

    // Producer-thread state.
    private var handle: OpaquePointer?
    private var topicHandles: [String: OpaquePointer] = [:]
    private var pending: [UInt32: PendingBatch] = [:]
    /// The batch of the last delivery report: reports come in runs of one batch.
    private var lastReported: PendingBatch?
    /// Batches failed while librdkafka may still read their buffers; released with the handle.
    private var retired: [KafkaRecordBatch] = []
    /// The C view of the batch being produced, reused from batch to batch.
    private var cRecords: [outbox_kafka_record] = []
    private var cHeaders: [outbox_kafka_header] = []
    private var cMessageIndices: [Int] = []
    private var nextSerial: UInt32 = 1
    private var fatalReason: String?
    private var lastCreationAttempt = ContinuousClock.now
    /// How many handles were created (1 + recreations after fatal errors).
    private var handleGeneration = 0
    /// The producer thread; joined by ``stop(flushTimeout:)``.
    private var thread: NamedThread?
    /// Records librdkafka's statistics reports (producer thread); `nil` when none are asked for.
    private let statistics: KafkaStatisticsRecorder?

    /// Creates the handle (configuration errors surface here) and starts the thread.
    /// - Throws: ``KafkaTransportError`` for an invalid property or a failed `rd_kafka_new`.
    init(
        name: String,
        properties: [(key: String, value: String)],
        deliveryTimeout: Duration,
        maximumTopicHandles: Int = 1000,
        statistics: KafkaStatisticsRecorder? = nil,
        logger: Logger
    ) throws(KafkaTransportError) {
        self.name = name
        self.statistics = statistics
        self.properties = properties
        self.deliveryTimeout = deliveryTimeout
        self.maximumTopicHandles = max(1, maximumTopicHandles)
        self.logger = logger
        self.handle = try makeHandle()
        do {
            // The thread keeps the producer alive until its loop ends.
            thread = try NamedThread(name: "kafka-" + name) { self.runLoop() }
        } catch {
            destroyHandle()
            throw KafkaTransportError(
                code: .clientCreationFailed,
                message: "cannot start the producer thread (pthread_create: \(error.status))"
            )
        }
    }

    // MARK: - API (any thread)

    /// Produces the records and returns one result per message once every report arrived.
    func deliver(_ batch: KafkaRecordBatch) async -> Results {
        let outcome: Outcome = await withUnsafeContinuation { continuation in
            if !enqueue(.deliver(batch, continuation)) {
                continuation.resume(
                    returning: .results(
                        Array(repeating: .retryable("the Kafka transport \"\(name)\" is shut down"), count: batch.count)
                    )
                )
            }
        }
        return outcome.results
    }

    /// Runs `body` on the producer thread with the handle (nil after a failed re-creation).
    func withHandle<T: Sendable>(
        _ body: @escaping @Sendable (OpaquePointer?) -> T
    ) async throws(KafkaTransportError) -> T {
        let result: T? = await withUnsafeContinuation { continuation in
            let accepted = enqueue(.perform({ producer in continuation.resume(returning: body(producer.handle)) }))
            if !accepted { continuation.resume(returning: nil) }
        }
        guard let result else {
            throw KafkaTransportError(code: .shutDown, message: "the Kafka transport \"\(name)\" is shut down")
        }
        return result
    }

    /// Waits (at most `flushTimeout`) for messages in flight, purges the rest, destroys the
    /// handle and ends the thread (joined before this returns). Later calls return at once.
    func stop(flushTimeout: Duration) async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            if !enqueue(.stop(flushTimeout: flushTimeout, continuation)) {
                continuation.resume()
            }
        }
        // The thread resumed us as its last step: joining waits only for it to return.
        thread?.join()
    }

    private func enqueue(_ command: Command) -> Bool {
        lock.withLock {
            if isStopped { return false }
            if case .stop = command { isStopped = true }
            commands.append(command)
            lock.signal()
            return true
        }
    }

    // MARK: - Producer thread

    private func runLoop() {
        while true {
            let taken = takeCommands()
            for command in taken {
                switch command {
                case .deliver(let batch, let continuation):
                    produce(batch, continuation: continuation)
                case .perform(let body):
                    body(self)
                case .stop(let flushTimeout, let continuation):
                    shutDownHandle(flushTimeout: flushTimeout)
                    continuation.resume()
                    return
                }
            }
            if let handle {
                if pending.isEmpty {
                    rd_kafka_poll(handle, 0)
                } else {
                    // Serves delivery reports; sends queued messages now, ignoring linger.ms.
                    rd_kafka_flush(handle, 20)
                }
            }
            if fatalReason != nil { recoverFromFatalError() }
            if handle == nil && ContinuousClock.now - lastCreationAttempt >= .seconds(1) {
                lastCreationAttempt = .now
                handle = try? makeHandle()
            }
        }
    }

    /// Returns the queued commands; waits for one only while no batch is in flight
    /// (waking every 100 ms to serve librdkafka's error and log callbacks).
    private func takeCommands() -> [Command] {
        lock.withLock {
            if commands.isEmpty && pending.isEmpty {
                lock.wait(timeout: .milliseconds(100))
            }
            let taken = commands
            commands.removeAll(keepingCapacity: true)
            return taken
        }
    }

    private func produce(_ batch: KafkaRecordBatch, continuation: UnsafeContinuation<Outcome, Never>) {
        let serial = nextSerial
        nextSerial = nextSerial == UInt32.max ? 1 : nextSerial + 1
        let pendingBatch = PendingBatch(serial: serial, records: batch, continuation: continuation)
        for (index, result) in batch.earlyResults {
            pendingBatch.states[index] = PendingBatch.failed
            pendingBatch.failures[index] = result
            pendingBatch.remaining -= 1
        }
        guard let handle else {
            for index in 0..<batch.count where pendingBatch.states[index] == PendingBatch.unresolved {
                pendingBatch.states[index] = PendingBatch.failed
                pendingBatch.failures[index] = .retryable(
                    "the Kafka producer could not be created again after a fatal error"
                )
                pendingBatch.remaining -= 1
            }
            finish(pendingBatch)
            return
        }
        pending[serial] = pendingBatch

        releaseTopicHandles(keeping: batch.topics)
        let topics: [OpaquePointer?] = batch.topics.map { topicHandle($0, handle: handle) }
        var failedKeys = Set<String>()
        var headers = cHeaders
        var records = cRecords
        var messageIndices = cMessageIndices
        cHeaders = []
        cRecords = []
        cMessageIndices = []
        defer {
            headers.removeAll(keepingCapacity: true)
            records.removeAll(keepingCapacity: true)
            messageIndices.removeAll(keepingCapacity: true)
            cHeaders = headers
            cRecords = records
            cMessageIndices = messageIndices
        }
        headers.reserveCapacity(batch.headers.count)
        for header in batch.headers {
            headers.append(
                outbox_kafka_header(
                    name_offset: header.name.lowerBound,
                    name_size: header.name.count,
                    value_offset: header.value.lowerBound,
                    value_size: header.value.count
                )
            )
        }
        records.reserveCapacity(batch.count)
        messageIndices.reserveCapacity(batch.count)
        for index in 0..<batch.count {
            guard let record = batch.records[index] else { continue }
            guard topics[record.topic] != nil else {
                // Never seen for a valid name; failing the record beats handing C a null topic.
                failedKeys.insert(batch.messages[index].orderingKey)
                pendingBatch.states[index] = PendingBatch.failed
                pendingBatch.failures[index] = .retryable(
                    "librdkafka could not create a handle for the topic \"\(batch.topics[record.topic])\""
                )
                pendingBatch.remaining -= 1
                continue
            }
            records.append(
                outbox_kafka_record(
                    topic: record.topic,
                    has_key: record.key == nil ? 0 : 1,
                    key_offset: record.key?.lowerBound ?? 0,
                    key_size: record.key?.count ?? 0,
                    value_offset: record.value.lowerBound,
                    value_size: record.value.count,
                    first_header: record.headers.lowerBound,
                    header_count: record.headers.count,
                    opaque: UnsafeMutableRawPointer(bitPattern: UInt(serial) << 32 | UInt(index))
                )
            )
            messageIndices.append(index)
        }

        for (index, _) in batch.earlyResults { failedKeys.insert(batch.messages[index].orderingKey) }
        let buffer = UnsafeRawPointer(batch.bytes.base)
        var next = 0
        var queueFullSince: ContinuousClock.Instant?
        topics.withUnsafeBufferPointer { topics in
            headers.withUnsafeBufferPointer { headers in
                records.withUnsafeBufferPointer { records in
                    while next < records.count {
                        // All at once while nothing failed; then one at a time, skipping the
                        // records of keys that failed.
                        var end = records.count
                        if !failedKeys.isEmpty {
                            if failedKeys.contains(batch.messages[messageIndices[next]].orderingKey) {
                                resolve(
                                    pendingBatch,
                                    messageIndices[next],
                                    .retryable(
                                        "not sent: an earlier message with the same ordering key failed in this batch"
                                    )
                                )
                                next += 1
                                continue
                            }
                            end = next + 1
                        }
                        var error: OpaquePointer?
                        let queued = outbox_kafka_produce_records(
                            handle,
                            topics.baseAddress,
                            buffer,
                            records.baseAddress! + next,
                            end - next,
                            headers.baseAddress,
                            &error
                        )
                        if queued > 0 { queueFullSince = nil }
                        next += queued
                        guard let error else { continue }
                        let index = messageIndices[next]
                        if let failure = produceFailure(error, handle: handle, queueFullSince: &queueFullSince) {
                            failedKeys.insert(batch.messages[index].orderingKey)
                            resolve(pendingBatch, index, failure)
                            next += 1
                        }
                    }
                }
            }
        }
        if pendingBatch.remaining == 0 && pending[serial] != nil {
            pending[serial] = nil
            finish(pendingBatch)
        }
    }

    /// Handles a record librdkafka refused (destroying `error`): waits while the local queue is
    /// full (back-pressure, bounded by the delivery timeout) and returns `nil` to try again, or
    /// returns the record's failure.
    private func produceFailure(
        _ error: OpaquePointer,
        handle: OpaquePointer,
        queueFullSince: inout ContinuousClock.Instant?
    ) -> DeliveryResult? {
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        rd_kafka_error_destroy(error)
        if code == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            let since = queueFullSince ?? .now
            queueFullSince = since
            if ContinuousClock.now - since < deliveryTimeout + .seconds(5) {
                rd_kafka_poll(handle, 10)
                return nil
            }
        }
        if code == RD_KAFKA_RESP_ERR__FATAL {
            noteFatalError()
            return .retryable("the idempotent producer hit a fatal error; it is recreated: \(fatalReason ?? text)")
        }
        return RDKafkaDeliveryClassification.result(for: code, detail: "produce failed: \(text)")
    }

    private func resolve(_ batch: PendingBatch, _ index: Int, _ result: DeliveryResult) {
        guard batch.states[index] == PendingBatch.unresolved else { return }
        if result.isDelivered {
            batch.states[index] = PendingBatch.delivered
        } else {
            batch.states[index] = PendingBatch.failed
            batch.failures[index] = result
        }
        batch.remaining -= 1
        if batch.remaining == 0 {
            pending[batch.serial] = nil
            finish(batch)
        }
    }

    /// Called on the producer thread (inside `rd_kafka_poll`/`rd_kafka_flush`) per report.
    fileprivate func deliveryReport(_ message: UnsafePointer<rd_kafka_message_t>) {
        let tag = UInt(bitPattern: message.pointee._private)
        let serial = UInt32(truncatingIfNeeded: tag >> 32)
        let index = Int(tag & 0xFFFF_FFFF)
        let batch: PendingBatch
        if let last = lastReported, last.serial == serial {
            batch = last
        } else {
            guard let found = pending[serial] else { return }
            batch = found
            lastReported = found
        }
        guard index < batch.states.count else { return }
        let code = message.pointee.err
        let result: DeliveryResult
        if code == RD_KAFKA_RESP_ERR_NO_ERROR {
            result = .delivered
        } else if let fatalReason,
            code == RD_KAFKA_RESP_ERR__FATAL || code == RD_KAFKA_RESP_ERR__PURGE_QUEUE
                || code == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT
        {
            result = .retryable("the idempotent producer hit a fatal error; it is recreated: \(fatalReason)")
        } else {
            // Not rd_kafka_message_errstr: for a delivery report it returns the message's
            // payload (not NUL-terminated) instead of an error text.
            let detail = String(cString: rd_kafka_err2str(code))
            result = RDKafkaDeliveryClassification.result(for: code, detail: detail)
        }
        resolve(batch, index, result)
    }

    /// Resumes the batch's continuation, after making later messages of a failed ordering key
    /// retryable so the engine resends from the first failure of each key.
    private func finish(_ batch: PendingBatch) {
        if lastReported === batch { lastReported = nil }
        guard batch.states.contains(where: { $0 != PendingBatch.delivered }) else {
            batch.continuation.resume(returning: .allDelivered(count: batch.states.count))
            return
        }
        // Per-message results as the broker reported them: the engine resends a key's later
        // messages after its first failure (see `Transport`).
        var results = Array(repeating: DeliveryResult.delivered, count: batch.states.count)
        for index in results.indices where batch.states[index] != PendingBatch.delivered {
            results[index] = batch.failures[index] ?? .retryable("no delivery report")
        }
        batch.continuation.resume(returning: .results(results))
    }

    /// Called on the producer thread (inside `rd_kafka_poll`/`rd_kafka_flush`) every
    /// `statistics.interval.ms`.
    fileprivate func statisticsReport(_ json: UnsafeBufferPointer<UInt8>) {
        guard let statistics else { return }
        do {
            statistics.record(try KafkaStatisticsReport(json: json))
        } catch {
            logger.debug(
                "librdkafka statistics not understood",
                metadata: ["destination": "\(name)", "reason": "\(error)"]
            )
        }
    }

    fileprivate func errorReport(code: rd_kafka_resp_err_t, reason: String) {
        if code == RD_KAFKA_RESP_ERR__FATAL {
            noteFatalError()
        } else {
            logger.warning(
                "Kafka producer error",
                metadata: [
                    "destination": "\(name)", "reason": "\(reason)",
                    "error_code": "\(String(cString: rd_kafka_err2name(code)))",
                ]
            )
        }
    }

    private func noteFatalError() {
        guard fatalReason == nil, let handle else { return }
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        let reason = cStringText(buffer) + " [\(String(cString: rd_kafka_err2name(code)))]"
        fatalReason = reason
        logger.error(
            "fatal Kafka producer error; recreating the producer",
            metadata: ["destination": "\(name)", "reason": "\(reason)"]
        )
    }

    /// Purges what is in flight (reported retryable), destroys the handle and creates a new one.
    private func recoverFromFatalError() {
        if let handle {
            rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            let deadline = ContinuousClock.now + .seconds(5)
            while !pending.isEmpty && ContinuousClock.now < deadline {
                rd_kafka_poll(handle, 50)
            }
        }
        let reason = fatalReason ?? "fatal error"
        failPending(.retryable("the idempotent producer hit a fatal error; it is recreated: \(reason)"))
        destroyHandle()
        fatalReason = nil
        lastCreationAttempt = .now
        do {
            handle = try makeHandle()
        } catch {
            logger.error(
                "cannot recreate the Kafka producer",
                metadata: ["destination": "\(name)", "reason": "\(error)"]
            )
        }
    }

    private func shutDownHandle(flushTimeout: Duration) {
        if let handle {
            let deadline = ContinuousClock.now + flushTimeout
            while rd_kafka_outq_len(handle) > 0 && ContinuousClock.now < deadline {
                rd_kafka_flush(handle, 100)
            }
            if rd_kafka_outq_len(handle) > 0 {
                logger.warning(
                    "Kafka messages not acknowledged within the flush timeout were purged; they stay undelivered",
                    metadata: [
                        "destination": "\(name)", "messages": "\(rd_kafka_outq_len(handle))",
                        "flush_timeout": "\(flushTimeout)",
                    ]
                )
                rd_kafka_purge(handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
                rd_kafka_flush(handle, 1000)
            }
        }
        failPending(.retryable("the Kafka transport \"\(name)\" shut down before the broker acknowledged"))
        destroyHandle()
        // Commands that raced with the stop: answer them.
        let late = lock.withLock {
            let late = commands
            commands.removeAll()
            return late
        }
        for command in late {
            switch command {
            case .deliver(let batch, let continuation):
                continuation.resume(
                    returning: .results(
                        Array(repeating: .retryable("the Kafka transport \"\(name)\" is shut down"), count: batch.count)
                    )
                )
            case .perform(let body):
                body(self)
            case .stop(_, let continuation):
                continuation.resume()
            }
        }
    }

    private func failPending(_ result: DeliveryResult) {
        let batches = pending.values
        pending.removeAll()
        for batch in batches {
            for index in batch.states.indices where batch.states[index] == PendingBatch.unresolved {
                batch.states[index] = PendingBatch.failed
                batch.failures[index] = result
            }
            batch.remaining = 0
            // librdkafka may still hold messages pointing into the batch's buffer.
            if handle != nil { retired.append(batch.records) }
            finish(batch)
        }
    }

    /// The handle for `topic`, created on first use; `nil` if librdkafka cannot create one.
    private func topicHandle(_ topic: String, handle: OpaquePointer) -> OpaquePointer? {
        if let known = topicHandles[topic] { return known }
        guard let created = rd_kafka_topic_new(handle, topic, nil) else { return nil }
        topicHandles[topic] = created
        return created
    }

    /// Keeps at most ``maximumTopicHandles`` open: when the next batch's topics could exceed it,
    /// releases every handle that batch does not use. Messages already queued hold their own
    /// reference to their topic inside librdkafka, so releasing the application's is safe.
    private func releaseTopicHandles(keeping topics: [String]) {
        guard topicHandles.count + topics.count > maximumTopicHandles else { return }
        let kept = Set(topics)
        for (topic, topicHandle) in topicHandles where !kept.contains(topic) {
            rd_kafka_topic_destroy(topicHandle)
            topicHandles[topic] = nil
        }
    }

    // MARK: - Handle

    private func makeHandle() throws(KafkaTransportError) -> OpaquePointer {
        let configuration = try RDKafkaConfiguration.make(properties)
        rd_kafka_conf_set_opaque(configuration, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(configuration) { _, message, opaque in
            guard let message, let opaque else { return }
            Unmanaged<RDKafkaProducer>.fromOpaque(opaque).takeUnretainedValue().deliveryReport(message)
        }
        rd_kafka_conf_set_error_cb(configuration) { _, code, reason, opaque in
            guard let opaque else { return }
            let text = reason.map { String(cString: $0) } ?? ""
            Unmanaged<RDKafkaProducer>.fromOpaque(opaque).takeUnretainedValue().errorReport(
                code: rd_kafka_resp_err_t(rawValue: code),
                reason: text
            )
        }
        rd_kafka_conf_set_log_cb(configuration) { handle, level, facility, text in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let producer = Unmanaged<RDKafkaProducer>.fromOpaque(opaque).takeUnretainedValue()
            // librdkafka's text is the message; what it is about goes into the metadata.
            let message = Logger.Message(stringLiteral: text.map { String(cString: $0) } ?? "")
            let metadata: Logger.Metadata = [
                "destination": "\(producer.name)", "source": "librdkafka",
                "facility": "\(facility.map { String(cString: $0) } ?? "")",
            ]
            switch level {
            case ...3: producer.logger.error(message, metadata: metadata)
            case 4: producer.logger.warning(message, metadata: metadata)
            case 5: producer.logger.notice(message, metadata: metadata)
            case 6: producer.logger.info(message, metadata: metadata)
            default: producer.logger.debug(message, metadata: metadata)
            }
        }
        if let statistics {
            statistics.handleRecreated()
            rd_kafka_conf_set_stats_cb(configuration) { _, json, length, opaque in
                guard let json, let opaque else { return 0 }
                let producer = Unmanaged<RDKafkaProducer>.fromOpaque(opaque).takeUnretainedValue()
                producer.statisticsReport(
                    UnsafeBufferPointer(
                        start: UnsafeRawPointer(json).assumingMemoryBound(to: UInt8.self),
                        count: length
                    )
                )
                return 0  // librdkafka frees the JSON
            }
        }
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, configuration, &error, error.count) else {
            rd_kafka_conf_destroy(configuration)
            throw KafkaTransportError(
                code: .clientCreationFailed,
                message: "librdkafka could not create the producer: \(cStringText(error))"
            )
        }
        handleGeneration += 1
        return handle
    }

    private func destroyHandle() {
        for topic in topicHandles.values { rd_kafka_topic_destroy(topic) }
        topicHandles.removeAll()
        if let handle {
            rd_kafka_destroy(handle)
            self.handle = nil
        }
        retired.removeAll()
    }

    // MARK: - Test hooks

    /// How many producer handles were created so far (tests: recreation after fatal errors).
    func generation() async throws(KafkaTransportError) -> Int {
        let generation: Int? = await withUnsafeContinuation { continuation in
            if !enqueue(.perform({ producer in continuation.resume(returning: producer.handleGeneration) })) {
                continuation.resume(returning: nil)
            }
        }
        guard let generation else {
            throw KafkaTransportError(code: .shutDown, message: "the Kafka transport \"\(name)\" is shut down")
        }
        return generation
    }

    /// How many topic handles are open (tests: the bound on templated topics).
    func openTopicHandleCount() async throws(KafkaTransportError) -> Int {
        let count: Int? = await withUnsafeContinuation { continuation in
            if !enqueue(.perform({ producer in continuation.resume(returning: producer.topicHandles.count) })) {
                continuation.resume(returning: nil)
            }
        }
        guard let count else {
            throw KafkaTransportError(code: .shutDown, message: "the Kafka transport \"\(name)\" is shut down")
        }
        return count
    }

    /// Raises a fatal error on the handle as librdkafka would (`rd_kafka_test_fatal_error`).
    func injectFatalError(reason: String) async throws(KafkaTransportError) {
        _ = try await withHandle { handle in
            guard let handle else { return }
            rd_kafka_test_fatal_error(handle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, reason)
        }
    }
}
