import FlyingFox
import FlyingSocks
import Foundation
import Logging
import OutboxRelay
import Prometheus
import ServiceLifecycle
import Synchronization

/// The monitoring HTTP server (FlyingFox): `GET /metrics` (Prometheus text format),
/// `GET /healthz` and `GET /readyz` (``RelayHealthReport``). Nothing else is served: other
/// paths answer 404, other methods 405.
///
/// Runs as a ServiceLifecycle service next to the engine and stops on graceful shutdown.
final class MonitoringServer: Service, Sendable {
    private let configuration: MonitoringConfiguration
    private let registry: PrometheusCollectorRegistry
    private let processMetrics: ProcessMetrics
    private let health: @Sendable () -> RelayHealth
    private let logger: Logger
    /// Set on graceful shutdown: the server's errors from then on are its stopping.
    private let stopping = Atomic<Bool>(false)

    init(
        configuration: MonitoringConfiguration,
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        health: @escaping @Sendable () -> RelayHealth
    ) {
        self.configuration = configuration
        self.registry = registry
        self.processMetrics = ProcessMetrics(registry: registry)
        self.health = health
        self.logger = logger
    }

    func run() async throws {
        let server: HTTPServer
        switch configuration.listen {
        case .ipv4(let host, let port):
            server = HTTPServer(address: try .inet(ip4: host, port: port), logger: .disabled, handler: self)
        case .ipv6(let host, let port):
            server = HTTPServer(address: try .inet6(ip6: host, port: port), logger: .disabled, handler: self)
        }
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await server.run()
                    } catch  where self.stopping.load(ordering: .acquiring) {
                        // Stopping closes the socket and cancels the connections: not a failure.
                    }
                }
                try await server.waitUntilListening()
                let address: String =
                    switch await server.listeningAddress {
                    case .ip4(let host, let port): "\(host):\(port)"
                    case .ip6(let host, let port): "[\(host)]:\(port)"
                    default: configuration.listen.description
                    }
                logger.info(
                    "monitoring server listening on \(address) (/metrics, /healthz, /readyz)",
                    metadata: ["address": "\(address)"]
                )
                try await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
            Task { await server.stop(timeout: 1) }
        }
    }
}

extension MonitoringServer: HTTPHandler {
    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
        let json: HTTPHeaders = [.contentType: "application/json"]
        let respond: () -> HTTPResponse
        switch request.path {
        case "/metrics":
            respond = {
                self.processMetrics.refresh()
                return HTTPResponse(
                    statusCode: .ok,
                    headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: Data(self.registry.emitToBuffer())
                )
            }
        case "/healthz":
            respond = {
                let report = RelayHealthReport.liveness(of: self.health(), wedgedAfter: self.configuration.wedgedAfter)
                return HTTPResponse(statusCode: report.httpStatus, headers: json, body: Data(report.body))
            }
        case "/readyz":
            respond = {
                let report = RelayHealthReport.readiness(of: self.health())
                return HTTPResponse(statusCode: report.httpStatus, headers: json, body: Data(report.body))
            }
        default:
            return HTTPResponse(statusCode: .notFound, headers: json, body: Data(#"{"status":"not found"}"#.utf8))
        }
        guard request.method == .GET || request.method == .HEAD else {
            return HTTPResponse(
                statusCode: .methodNotAllowed,
                headers: [.contentType: "application/json", HTTPHeader("Allow"): "GET, HEAD"],
                body: Data(#"{"status":"method not allowed"}"#.utf8)
            )
        }
        return respond()
    }
}

extension RelayHealthReport {
    fileprivate var httpStatus: HTTPStatusCode { statusCode == 200 ? .ok : .serviceUnavailable }
}
