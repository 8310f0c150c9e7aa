import Foundation
import LockdAPI
import Logging
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A lockd started in this process for one test, with a client for it.
struct TestLockd: Sendable {
    let service: LockdService
    let baseURL: String
    let logs: CapturedLogs

    /// Starts lockd on a free loopback port, runs `body`, shuts lockd down.
    static func with<Result>(
        redisURL: String? = nil,
        configure: (inout LockdConfiguration) -> Void = { _ in },
        _ body: (TestLockd) async throws -> Result
    ) async throws -> Result {
        let logs = CapturedLogs()
        var logger = Logger(label: "lockd-test") { _ in CapturingLogHandler(logs: logs) }
        logger.logLevel = .trace
        var configuration = LockdConfiguration(listen: "127.0.0.1:0", redisURL: redisURL, loopCount: 2)
        configuration.shutdownGracePeriod = .seconds(2)
        configure(&configuration)
        let service = try LockdService(configuration: configuration, logger: logger)
        let addresses = try service.start()
        guard let port = addresses.first?.port else { throw TestFailure("lockd bound no address") }
        let runner = Task { await service.run() }
        let lockd = TestLockd(service: service, baseURL: "http://127.0.0.1:\(port)", logs: logs)
        do {
            let result = try await body(lockd)
            await service.shutdown()
            runner.cancel()
            return result
        } catch {
            await service.shutdown()
            runner.cancel()
            throw error
        }
    }

    /// Sends one request and reads the whole response.
    func send(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> TestResponse {
        guard let url = URL(string: baseURL + path) else { throw TestFailure("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        request.timeoutInterval = 30
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw TestFailure("not an HTTP response") }
        var fields: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { fields[key.lowercased()] = value }
        }
        return TestResponse(status: http.statusCode, headers: fields, body: data)
    }
}

/// A received response.
struct TestResponse: Sendable {
    var status: Int
    /// Header fields by lower-cased name.
    var headers: [String: String]
    var body: Data

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Every log line a test's lockd wrote, message and metadata flattened.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let logs: CapturedLogs
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        logs.append("\(event.level) \(event.message) \(merged)")
    }
}
