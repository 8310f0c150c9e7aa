/// One request at a time on a client's connection, the request written as
/// text: what the tests that walk a lock through many requests on one
/// connection (tokens of every length, each refused byte) each wrote for
/// themselves.
///
/// ```swift
/// let client = try RawHTTPClient(port: port)
/// let acquired = try await client.exchange("POST", "/locks/orders", body: #"{"ttl_ms":60000}"#)
/// let released = try await client.exchange("DELETE", "/locks/orders", headers: ["Lock-Token: \(token)"])
/// ```
extension RawHTTPClient {
    /// The text of an HTTP/1.1 request to `Host: lockd`: its request line,
    /// each of `headers` as a whole field line (`"Lock-Token: …"`), then a
    /// `Content-Length` (0 for no body) and `body`.
    public static func request(_ method: String, _ path: String, body: String = "", headers: [String] = []) -> String {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: lockd\r\n"
        for header in headers { head += header + "\r\n" }
        return head + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    /// Sends the request ``request(_:_:body:headers:)`` writes and reads
    /// the response to it.
    /// - Throws: ``RawHTTPClientError`` when the send fails, the response
    ///   takes more than 5 s or is malformed.
    public func exchange(_ method: String, _ path: String, body: String = "", headers: [String] = []) async throws -> RawHTTPResponse {
        try send(Self.request(method, path, body: body, headers: headers))
        return try await readResponse()
    }
}
