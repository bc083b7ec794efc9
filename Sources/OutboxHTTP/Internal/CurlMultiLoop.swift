import CCurl
import CoreMetrics
import Logging
import OutboxRelay
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One message, ready for the loop thread: its body is built, its key computed.
struct PreparedMessage: Sendable {
    var eventID: String
    var orderingKey: String
    var body: [UInt8]
    /// `traceparent: …` and `tracestate: …` lines of the message's validated trace context.
    var traceHeaders: [String] = []
    /// Set when the message cannot be sent at all (too large, unusable id): no request is made.
    var immediateResult: DeliveryResult?
    /// The outbox row the message came from (for the log).
    var rowID: OutboxRowID? = nil
}

/// A batch handed to the loop thread. Its continuation resumes once, when every message has
/// a result. Only the loop thread touches it after submission.
final class PendingBatch: @unchecked Sendable {
    let sequence: UInt64
    let messages: [PreparedMessage]
    private var results: [DeliveryResult?]
    private var remaining: Int
    private let continuation: CheckedContinuation<[DeliveryResult], Never>

    init(sequence: UInt64, messages: [PreparedMessage], continuation: CheckedContinuation<[DeliveryResult], Never>) {
        self.sequence = sequence
        self.messages = messages
        self.results = Array(repeating: nil, count: messages.count)
        self.remaining = messages.count
        self.continuation = continuation
        if messages.isEmpty { continuation.resume(returning: []) }
    }

    /// Records the result of one message; resumes the caller after the last one.
    func resolve(_ index: Int, _ result: DeliveryResult) {
        guard results[index] == nil else { return }
        results[index] = result
        remaining -= 1
        if remaining == 0 {
            continuation.resume(returning: results.map { $0! })
        }
    }
}

/// The messages of one ordering key waiting for the endpoint, oldest first, across batches.
private struct Lane {
    var items: [(batch: PendingBatch, index: Int)] = []
    var head = 0
    var inFlight = false

    var isEmpty: Bool { head >= items.count }
    var first: (batch: PendingBatch, index: Int)? { isEmpty ? nil : items[head] }

    mutating func append(_ batch: PendingBatch, _ index: Int) { items.append((batch, index)) }

    mutating func removeFirst() {
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    /// Takes every waiting item out.
    mutating func drain() -> ArraySlice<(batch: PendingBatch, index: Int)> {
        let rest = items[head...]
        items = []
        head = 0
        return rest
    }
}

/// What the loop needs to know about its endpoint.
struct CurlMultiLoopSettings: Sendable {
    var transportName: String
    var redactedURL: String
    var endpoint: CurlEndpointSettings
    var concurrency: Int
    var contentType: String
    /// `name: value` lines sent with every request.
    var staticHeaders: [String]
    var signer: WebhookSigner
    var classifier: WebhookResponseClassifier
    /// Where ``WebhookMetrics`` go; `nil`: swift-metrics' global factory when first bound.
    var metricsFactory: (any MetricsFactory)?
}

/// The curl multi handle of one webhook transport, driven by its own thread.
///
/// Batches arrive through a locked inbox (one hand-off per batch) and a `curl_multi_wakeup`.
/// The thread keeps up to `concurrency` requests in flight over reused connections, sends
/// the messages of one ordering key one after another, signs each request when it starts
/// (so `webhook-timestamp` is fresh) and resumes each batch's continuation once.
final class CurlMultiLoop: @unchecked Sendable {
    private struct Inbox {
        var batches: [PendingBatch] = []
        var jobs: [@Sendable () -> Void] = []
        var nextSequence: UInt64 = 1
        var stopRequested = false
        var stopped = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let inbox = Mutex(Inbox())
    private let multi: UnsafeMutableRawPointer
    private let settings: CurlMultiLoopSettings
    private let logger: Logger

    // Loop-thread state.
    private var lanes: [String: Lane] = [:]
    private var readyKeys: [String] = []
    private var readyHead = 0
    /// Every handle this loop created (they live as long as the loop); ``idleTransfers`` is
    /// the subset not in flight.
    private var transfers: [CurlTransfer] = []
    private var idleTransfers: [CurlTransfer] = []
    private var active = 0
    private var highestAcceptedSequence: UInt64 = 0
    private var failFast: (result: DeliveryResult, throughSequence: UInt64)?
    private var isFailing = false
    private var clientErrorAttempts: [String: Int] = [:]
    private let disabled = Atomic<Bool>(false)
    /// Created by ``bindMetrics()``, so a transport made before `MetricsSystem.bootstrap` still
    /// records into the bootstrapped backend.
    private let metrics = Mutex<WebhookMetrics?>(nil)
    /// The loop thread; joined by ``shutdown()``.
    private var thread: NamedThread?

    /// Whether the endpoint answered 410 Gone and is disabled.
    var isDisabled: Bool { disabled.load(ordering: .relaxed) }

    init(settings: CurlMultiLoopSettings, logger: Logger) throws(WebhookTransportError) {
        CurlGlobal.initialize()
        guard let multi = curl_multi_init() else {
            throw WebhookTransportError(code: .curlUnavailable, message: "curl_multi_init failed")
        }
        self.multi = multi
        self.settings = settings
        self.logger = logger
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, settings.concurrency)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, settings.concurrency)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, max(settings.concurrency, 1))

        do {
            // The thread keeps the loop alive until it ends.
            thread = try NamedThread(name: "http-" + settings.transportName) { self.run() }
        } catch {
            curl_multi_cleanup(multi)
            throw WebhookTransportError(
                code: .curlUnavailable,
                message: "could not start the transport thread (\(error.status))"
            )
        }
    }

    // MARK: Called from tasks

    /// The transport's metrics, created on first use (the disabled gauge starts at 0).
    @discardableResult
    func bindMetrics() -> WebhookMetrics {
        metrics.withLock { metrics in
            if let metrics { return metrics }
            let created = WebhookMetrics(
                destination: settings.transportName,
                factory: settings.metricsFactory ?? MetricsSystem.factory
            )
            metrics = created
            return created
        }
    }

    /// Hands a batch to the loop thread and waits for all of its results.
    func deliver(_ messages: [PreparedMessage]) async -> [DeliveryResult] {
        await withCheckedContinuation { continuation in
            let refused: Bool = inbox.withLock { inbox in
                guard !inbox.stopRequested else { return true }
                let batch = PendingBatch(sequence: inbox.nextSequence, messages: messages, continuation: continuation)
                inbox.nextSequence += 1
                inbox.batches.append(batch)
                curl_multi_wakeup(multi)
                return false
            }
            if refused {
                continuation.resume(returning: messages.map { _ in .retryable("the webhook transport is shut down") })
            }
        }
    }

    /// Runs a closure on the loop thread (for blocking calls such as DNS resolution).
    func perform<Value: Sendable>(_ body: @escaping @Sendable () -> Value) async -> Value? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let accepted: Bool = inbox.withLock { inbox in
                guard !inbox.stopRequested else { return false }
                inbox.jobs.append { continuation.resume(returning: body()) }
                curl_multi_wakeup(multi)
                return true
            }
            if !accepted { continuation.resume(returning: nil) }
        }
    }

    /// Lets the requests in flight finish, then stops the thread and frees the handles.
    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished: Bool = inbox.withLock { inbox in
                if inbox.stopped { return true }
                inbox.stopRequested = true
                inbox.stopWaiters.append(continuation)
                curl_multi_wakeup(multi)
                return false
            }
            if finished { continuation.resume() }
        }
        // The thread resumed us as its last step: joining waits only for it to return.
        thread?.join()
    }

    // MARK: The loop thread

    private func run() {
        while true {
            let (batches, jobs, stopRequested) = inbox.withLock { inbox in
                let taken = (inbox.batches, inbox.jobs, inbox.stopRequested)
                inbox.batches.removeAll(keepingCapacity: true)
                inbox.jobs.removeAll()
                return taken
            }
            for job in jobs { job() }
            for batch in batches { accept(batch) }
            schedule()
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            collectFinished()
            schedule()
            if stopRequested && active == 0 && lanes.isEmpty {
                let done: Bool = inbox.withLock { inbox in
                    guard inbox.batches.isEmpty && inbox.jobs.isEmpty else { return false }
                    inbox.stopped = true
                    return true
                }
                if done { break }
                continue
            }
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        idleTransfers.removeAll()
        transfers.removeAll()
        curl_multi_cleanup(multi)
        let waiters = inbox.withLock { inbox in
            let waiters = inbox.stopWaiters
            inbox.stopWaiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func accept(_ batch: PendingBatch) {
        highestAcceptedSequence = max(highestAcceptedSequence, batch.sequence)
        for (index, message) in batch.messages.enumerated() {
            if let result = message.immediateResult {
                batch.resolve(index, result)
                continue
            }
            if isDisabled {
                batch.resolve(index, Self.disabledResult)
                continue
            }
            let key = message.orderingKey
            var lane = lanes[key] ?? Lane()
            let wasIdle = lane.isEmpty && !lane.inFlight
            lane.append(batch, index)
            lanes[key] = lane
            if wasIdle { readyKeys.append(key) }
        }
    }

    private static let disabledResult = DeliveryResult.permanent("endpoint disabled: 410 Gone")

    private func popReadyKey() -> String? {
        guard readyHead < readyKeys.count else {
            if !readyKeys.isEmpty {
                readyKeys.removeAll(keepingCapacity: true)
                readyHead = 0
            }
            return nil
        }
        let key = readyKeys[readyHead]
        readyHead += 1
        if readyHead > 1024 && readyHead * 2 > readyKeys.count {
            readyKeys.removeFirst(readyHead)
            readyHead = 0
        }
        return key
    }

    /// Starts requests while there is room and a key whose next message may go.
    private func schedule() {
        while active < settings.concurrency, let key = popReadyKey() {
            guard var lane = lanes[key], !lane.inFlight, let (batch, index) = lane.first else { continue }
            if isDisabled {
                for item in lane.drain() { item.batch.resolve(item.index, Self.disabledResult) }
                lanes[key] = nil
                continue
            }
            if let failFast, batch.sequence <= failFast.throughSequence {
                batch.resolve(index, failFast.result)
                lane.removeFirst()
                failRest(of: &lane, after: batch.messages[index].eventID)
                lanes[key] = nil
                continue
            }
            let transfer: CurlTransfer
            if let idle = idleTransfers.popLast() {
                transfer = idle
            } else if let fresh = CurlTransfer(settings: settings.endpoint) {
                transfer = fresh
                transfers.append(fresh)
            } else {
                batch.resolve(index, .retryable("libcurl could not create a request handle"))
                lane.removeFirst()
                failRest(of: &lane, after: batch.messages[index].eventID)
                lanes[key] = nil
                continue
            }
            start(transfer, batch: batch, index: index, key: key)
            lane.inFlight = true
            lanes[key] = lane
        }
    }

    private func start(_ transfer: CurlTransfer, batch: PendingBatch, index: Int, key: String) {
        let message = batch.messages[index]
        var headers: [String] = []
        headers.reserveCapacity(8 + settings.staticHeaders.count)
        headers.append("content-type: \(settings.contentType)")
        headers.append("webhook-id: \(message.eventID)")
        let timestamp = Int64(time(nil))
        headers.append("webhook-timestamp: \(timestamp)")
        headers.append("Expect:")
        headers.append(contentsOf: settings.staticHeaders)
        headers.append(contentsOf: message.traceHeaders)
        transfer.prepare(body: message.body)
        if settings.signer.secretCount > 0 {
            headers.append(
                "webhook-signature: "
                    + settings.signer.signature(id: message.eventID, timestamp: timestamp, body: transfer.bodyBytes)
            )
        }
        transfer.setHeaders(headers)
        transfer.batch = batch
        transfer.index = index
        transfer.orderingKey = key
        let code = curl_multi_add_handle(multi, transfer.easy)
        if code != CURLM_OK {
            transfer.releaseRequest()
            idleTransfers.append(transfer)
            batch.resolve(index, .retryable("libcurl refused the request (multi code \(code.rawValue))"))
            var lane = lanes[key] ?? Lane()
            lane.removeFirst()
            failRest(of: &lane, after: message.eventID)
            lanes[key] = nil
            return
        }
        active += 1
    }

    private func collectFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = ccurl_message_result(message)
            var pointer: UnsafeMutableRawPointer?
            _ = ccurl_easy_getinfo_pointer(easy, CURLINFO_PRIVATE, &pointer)
            _ = curl_multi_remove_handle(multi, easy)
            guard let pointer else { continue }
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(pointer).takeUnretainedValue()
            finish(transfer, code: code)
        }
    }

    private func finish(_ transfer: CurlTransfer, code: CURLcode) {
        bindMetrics().requestFinished(
            openedConnections: transfer.connectionsOpened,
            connected: transfer.wasConnected
        )
        var refusedRedirect: String?
        if code == CURLE_OK, let policy = settings.endpoint.redirectPolicy, (300...399).contains(transfer.responseCode),
            let target = transfer.redirectTarget, transfer.batch != nil
        {
            switch policy.decide(from: transfer.currentURL, to: target, followed: transfer.redirectsFollowed) {
            case .follow(let url, let keepsCustomHeaders):
                if transfer.redirect(to: url, dropping: keepsCustomHeaders ? [] : settings.staticHeaders),
                    curl_multi_add_handle(multi, transfer.easy) == CURLM_OK
                {
                    return  // still in flight
                }
                refusedRedirect = "libcurl could not follow the redirect"
            case .refuse(let reason):
                refusedRedirect = reason
            }
        }
        active -= 1
        guard let batch = transfer.batch else {
            transfer.releaseRequest()
            idleTransfers.append(transfer)
            return
        }
        let index = transfer.index
        let key = transfer.orderingKey
        let eventID = batch.messages[index].eventID
        let rowID = batch.messages[index].rowID
        let status = code == CURLE_OK ? transfer.responseCode : 0
        let retryAfter = transfer.responseHeader("Retry-After")
        let refused = transfer.refusedAddress
        let connected = transfer.wasConnected
        transfer.releaseRequest()
        idleTransfers.append(transfer)

        var attempts = 0
        if code == CURLE_OK, (400...499).contains(status), status != 410, status != 429 {
            attempts = (clientErrorAttempts[eventID] ?? 0) + 1
            if clientErrorAttempts.count >= 100_000 { clientErrorAttempts.removeAll() }
            clientErrorAttempts[eventID] = attempts
        }
        let (result, signal) =
            refusedRedirect.map { (DeliveryResult.permanent($0), WebhookResponseClassifier.EndpointSignal.healthy) }
            ?? settings.classifier.classify(
                curlCode: code,
                status: status,
                retryAfterHeader: retryAfter,
                clientErrorAttempts: attempts,
                refusedAddress: refused,
                connected: connected,
                now: Int64(time(nil))
            )
        switch result {
        case .delivered, .permanent: clientErrorAttempts[eventID] = nil
        case .retryable: break
        }
        if case .delivered = result {
        } else {
            logger.debug(
                "webhook delivery failed",
                metadata: [
                    "destination": "\(settings.transportName)", "url": "\(settings.redactedURL)",
                    "event_id": "\(eventID)", "row_id": "\(rowID.map { "\($0)" } ?? "")",
                    "status": "\(status)", "reason": "\(result.failureReason ?? "")",
                ]
            )
        }
        // Disabled before the result is visible: a caller that sees "endpoint disabled" also
        // sees isDisabled.
        if case .gone = signal { disable() }
        batch.resolve(index, result)

        var lane = lanes[key] ?? Lane()
        lane.inFlight = false
        lane.removeFirst()
        if result.isDelivered {
            if lane.isEmpty {
                lanes[key] = nil
            } else {
                lanes[key] = lane
                readyKeys.append(key)
            }
        } else {
            failRest(of: &lane, after: eventID)
            lanes[key] = nil
        }

        switch signal {
        case .gone:
            break  // disabled above
        case .unreachable:
            if !isFailing {
                isFailing = true
                logger.warning(
                    "webhook endpoint is unreachable; its queued messages are reported retryable without being sent",
                    metadata: [
                        "destination": "\(settings.transportName)", "url": "\(settings.redactedURL)",
                        "reason": "\(result.failureReason ?? "")",
                    ]
                )
            }
            var hint: Duration?
            if case .retryable(_, let retryAfter) = result { hint = retryAfter }
            failFast = (
                .retryable(
                    "not sent: the endpoint was unreachable (\(result.failureReason ?? "error"))",
                    retryAfter: hint
                ), highestAcceptedSequence
            )
        case .healthy:
            if isFailing && (result.isDelivered || code == CURLE_OK) {
                isFailing = false
                failFast = nil
                logger.info(
                    "webhook endpoint recovered",
                    metadata: [
                        "destination": "\(settings.transportName)", "url": "\(settings.redactedURL)",
                    ]
                )
            }
        }
    }

    /// Reports every message still waiting in a lane as retryable: an earlier message with
    /// the same key was not delivered, so sending them would break per-aggregate order.
    private func failRest(of lane: inout Lane, after eventID: String) {
        let result = DeliveryResult.retryable(
            "not sent: an earlier message with the same ordering key (event \(eventID)) was not delivered"
        )
        for item in lane.drain() { item.batch.resolve(item.index, result) }
    }

    private func disable() {
        guard !disabled.exchange(true, ordering: .relaxed) else { return }
        bindMetrics().endpointDisabled.record(1)
        logger.critical(
            """
            WEBHOOK ENDPOINT DISABLED: it answered 410 Gone. \
            Every message routed to it is now dead-lettered until the relay is restarted with a new URL.
            """,
            metadata: [
                "destination": "\(settings.transportName)", "url": "\(settings.redactedURL)",
            ]
        )
        for (key, var lane) in lanes where !lane.inFlight {
            for item in lane.drain() { item.batch.resolve(item.index, Self.disabledResult) }
            lanes[key] = nil
        }
    }
}

/// `curl_global_init`, once per process.
enum CurlGlobal {
    private static let once: Void = {
        _ = curl_global_init(Int(CURL_GLOBAL_ALL))
    }()

    static func initialize() { _ = once }
}
