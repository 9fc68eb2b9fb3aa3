import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP connection of the metrics listener: `GET` (or `HEAD`) `/metrics` gets the exposition,
/// any other path 404, any other method 405, a failed reading 500 with its one line. Keep-alive
/// as the client asks, so a Prometheus server reuses its connection between scrapes.
final class MetricsHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The exposition format's content type (text format 0.0.4).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let render: @Sendable () throws -> String
    private let pool: NIOThreadPool
    private var request: HTTPRequestHead?

    init(render: @escaping @Sendable () throws -> String, pool: NIOThreadPool) {
        self.render = render
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else {
            return send(.notFound, "not found: the metrics are at /metrics\n", to: head, context: context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return send(.methodNotAllowed, "method not allowed: GET /metrics\n", to: head, context: context, extra: [("Allow", "GET, HEAD")])
        }
        let render = self.render
        pool.runIfActive(eventLoop: context.eventLoop) { try render() }
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let text):
                    self.send(.ok, text, to: head, context: context, contentType: Self.contentType)
                case .failure(let error):
                    self.send(.internalServerError, "reading the metrics failed: \(error)\n", to: head, context: context)
                }
            }
    }

    private func send(_ status: HTTPResponseStatus, _ body: String, to head: HTTPRequestHead, context: ChannelHandlerContext,
                      contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = []) {
        let keepAlive = head.isKeepAlive
        let buffer = context.channel.allocator.buffer(string: body)
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(buffer.readableBytes)")] + extra)
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        let written = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        if !keepAlive {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
