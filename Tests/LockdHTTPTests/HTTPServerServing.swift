import LockdHTTP
import LockdTransport

extension HTTPServer {
    /// Starts the server, runs `body` with the port it listens on, then
    /// shuts the server down (a second's grace) and stops `loops` — also when
    /// starting or `body` throws, so a failed test leaves no server behind.
    func serving(on loops: EventLoopGroup, _ body: (UInt16) async throws -> Void) async throws {
        do {
            let port = try start()[0].port
            try await body(port)
        } catch {
            await shutdown(gracePeriod: .seconds(1))
            loops.shutdown()
            throw error
        }
        await shutdown(gracePeriod: .seconds(1))
        loops.shutdown()
    }
}
