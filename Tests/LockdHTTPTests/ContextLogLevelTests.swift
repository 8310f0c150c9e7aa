import LockdTestSupport
import LockdTransport
import Logging
import Synchronization
import Testing

@testable import LockdHTTP

/// wip-tidy19: `HTTPRequestContext.logs(_:)` reads the level of a handler
/// that keeps it as a stored value once, when the server is made; any other
/// handler is asked on each check, so a level it changes at run time is
/// seen by the very next request, as before.
@Suite struct ContextLogLevelTests {
    /// A level shared by every copy of ``SharedLevelHandler``: changed at
    /// run time without touching the server's logger.
    final class LevelBox: Sendable {
        let level: Mutex<Logger.Level>
        init(_ level: Logger.Level) { self.level = Mutex(level) }
    }

    /// A handler reading its level from a shared box (as a handler whose
    /// level an operator changes while serving would).
    struct SharedLevelHandler: LogHandler {
        let box: LevelBox
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level {
            get { box.level.withLock { $0 } }
            set { box.level.withLock { $0 = newValue } }
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {}
    }

    /// A level changed at run time, through the handler's shared state, is
    /// seen by the next request on the same connection.
    @Test func aLevelTheHandlerChangesAtRunTimeIsSeenByTheNextRequest() async throws {
        let box = LevelBox(.info)
        let logger = Logger(label: "tidy19") { _ in SharedLevelHandler(box: box) }
        try await Self.withServer(logger: logger) { client in
            let atInfo = try await Self.ask(client)
            box.level.withLock { $0 = .debug }
            let atDebug = try await Self.ask(client)
            box.level.withLock { $0 = .error }
            let atError = try await Self.ask(client)
            #expect([atInfo, atDebug, atError] == ["quiet", "debug", "quiet"])
        }
    }

    /// A stored level (swift-log's stream handler, read once) is the one
    /// the logger was given.
    @Test(arguments: [(Logger.Level.debug, "debug"), (.trace, "debug"), (.info, "quiet"), (.critical, "quiet")])
    func aStoredLevelIsTheLoggersOwn(level: Logger.Level, expected: String) async throws {
        var logger = Logger(label: "tidy19") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        #expect(HTTPFixedLevelLogHandlers.level(of: logger) == level)
        try await Self.withServer(logger: logger) { client in
            let answer = try await Self.ask(client)
            #expect(answer == expected)
        }
        #expect(HTTPFixedLevelLogHandlers.level(of: Logger(label: "x") { _ in SharedLevelHandler(box: LevelBox(.debug)) }) == nil)
    }

    private static func ask(_ client: RawHTTPClient) async throws -> String {
        try client.send("GET /logs HTTP/1.1\r\nHost: x\r\n\r\n")
        return try await client.readResponse().text
    }

    private static func withServer(logger: Logger, _ body: (RawHTTPClient) async throws -> Void) async throws {
        var router = Router()
        router.add(.get, "/logs", name: "logs") { _, context in
            .now(HTTPResponse(status: .ok, body: Array((context.logs(.debug) ? "debug" : "quiet").utf8)))
        }
        let group = try EventLoopGroup(loopCount: 1, namePrefix: "tidy19-level")
        let server = HTTPServer(configuration: HTTPServerConfiguration(listenAddress: "127.0.0.1:0"), responder: router,
                                eventLoopGroup: group, logger: logger)
        try await server.serving(on: group) { port in
            let client = try await offThePool { try RawHTTPClient(port: port) }
            defer { client.close() }
            try await body(client)
        }
    }
}
