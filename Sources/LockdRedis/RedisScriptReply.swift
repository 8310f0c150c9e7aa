import RESP

/// A callback script call's outcome, lent to its completion (see
/// ``RedisClient/run(_:keyCount:arguments:idempotent:cancellation:completion:)``):
/// a failure, or a reply that lies in the connection's read buffer, which
/// is reused once the completion returns.
///
/// So that nothing keeps the reply past that, neither this nor the
/// ``RESPReply`` it lends can be copied, the completion only borrows this,
/// and ``map(_:)`` lends the reply to its closure alone: what leaves the
/// completion is what was read.
public struct RedisScriptReply: ~Copyable {
    @usableFromInline let outcome: Result<UnsafeRawBufferPointer, RedisError>

    /// The outcome over `frame`, one complete RESP frame that lives while
    /// this does (see ``RESPReply``).
    init(unsafeFrame frame: UnsafeRawBufferPointer) {
        outcome = .success(frame)
    }

    init(failure: RedisError) {
        outcome = .failure(failure)
    }

    /// Calls `body` with a reply that arrived decoded, written out as RESP.
    static func reading(_ value: RESPValue, _ body: (borrowing RedisScriptReply) -> Void) {
        var frame: [UInt8] = []
        RESPEncoder.encode(value, into: &frame)
        frame.withUnsafeBytes { body(RedisScriptReply(unsafeFrame: $0)) }
    }

    /// Like `Result.map`: the failure, or what `read` reads from the reply,
    /// which it is lent for the call.
    @inlinable
    public func map<Value>(_ read: (inout RESPReply) -> Value) -> Result<Value, RedisError> {
        switch outcome {
        case .success(let frame):
            var reply = RESPReply(unsafeFrame: frame)
            return .success(read(&reply))
        case .failure(let error):
            return .failure(error)
        }
    }
}
