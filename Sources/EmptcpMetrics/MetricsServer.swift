import EmptcpApply
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP listener of `daemon run --metrics ADDR`: `GET /metrics` answers the text exposition
/// that `render` produces at that moment. It runs on threads of its own, one event loop for the
/// connections and one worker that renders (reading the maps and the store is blocking work, kept
/// off the event loop), so the daemon's own loop never serves, waits for or shares a lock with a
/// scrape. Scrapes are rendered one at a time.
public final class MetricsServer: Sendable {
    /// The address it listens on (with the port the kernel chose for port 0).
    public let listening: String
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let channel: any Channel

    /// The listener failed to bind: the address and the kernel's reason, as one line.
    public struct ListenError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Binds and starts serving; throws ListenError when the address cannot be had.
    public init(address: MetricsAddress, render: @escaping @Sendable () throws -> String) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    // A client that connects and then says nothing does not keep its socket forever.
                    try pipeline.addHandler(IdleStateHandler(allTimeout: .seconds(60)))
                    try pipeline.addHandler(MetricsHTTPHandler(render: render, pool: pool))
                }
            }
        // `:PORT` is every address: IPv6 and IPv4 on one dual-stack socket, IPv4 alone where the
        // kernel has no IPv6.
        let hosts = address.host.map { [$0] } ?? ["::", "0.0.0.0"]
        var bound: (any Channel)?
        var failure: (any Error)?
        for host in hosts where bound == nil {
            do {
                bound = try bootstrap.bind(host: host, port: address.port).wait()
            } catch {
                failure = failure ?? error
            }
        }
        guard let channel = bound else {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            throw ListenError(description: "cannot listen for metrics on \(address): \(Self.reason(failure))")
        }
        self.group = group
        self.pool = pool
        self.channel = channel
        listening = channel.localAddress.map(Self.text) ?? address.description
    }

    /// Closes the listener and every connection, and stops the threads.
    public func stop() {
        try? channel.close().wait()
        try? pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }

    private static func reason(_ error: (any Error)?) -> String {
        guard let error else { return "no address to bind" }
        switch error {
        case let io as IOError: return SystemError(operation: "", object: "", code: io.errnoCode).cause
        case let unknown as SocketAddressError.UnknownHost: return "cannot resolve \(unknown.host): \(unknown.errorDescription)"
        case SocketAddressError.unknown(let host, _): return "cannot resolve \(host)"
        default: return "\(error)"
        }
    }

    private static func text(_ address: SocketAddress) -> String {
        let ip = address.ipAddress ?? "?"
        let port = address.port ?? 0
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
