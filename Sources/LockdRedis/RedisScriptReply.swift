import RESP

/// A callback script call's outcome, lent to its completion (see
/// ``RedisClient/run(_:keyCount:arguments:idempotent:cancellation:completion:)``):
/// a failure, or a reply that lies in the connection's read buffer, which
/// is reused once the completion returns.
///
/// So that nothing keeps the reply past that, neither this nor the
/// ``RESPReply`` it lends can be copied, the completion only borrows this,
/// and ``map(_:failure:)`` lends the reply to its closure alone: what
/// leaves the completion is what was read.
public struct RedisScriptReply: ~Copyable {
    @usableFromInline let outcome: Result<UnsafeRawBufferPointer, RedisError>

    /// The outcome over `frame`, one complete RESP frame that lives while
    /// this does (see ``RESPReply``).
    init(unsafeFrame frame: UnsafeRawBufferPointer) {
        outcome = .success(frame)
    }

    /// The outcome of a call that failed.
    init(failure: RedisError) {
        outcome = .failure(failure)
    }

    /// Calls `body` with a reply that arrived decoded, written out as RESP.
    static func reading(_ value: RESPValue, _ body: (borrowing RedisScriptReply) -> Void) {
        var frame: [UInt8] = []
        RESPEncoder.encode(value, into: &frame)
        frame.withUnsafeBytes { body(RedisScriptReply(unsafeFrame: $0)) }
    }

    /// What `read` reads from the reply, which it is lent for the call, or
    /// what it throws; or the call's failure made the caller's by `failure`.
    /// (One level of `Result`: a caller's own nested in one of
    /// ``RedisError`` would be copied and destroyed through its value
    /// witnesses: +1.5% instructions per lock request.)
    @inlinable
    public func map<Value, Failure: Error>(
        _ read: (inout RESPReply) throws(Failure) -> Value, failure: (RedisError) -> Failure
    ) -> Result<Value, Failure> {
        switch outcome {
        case .success(let frame):
            var reply = RESPReply(unsafeFrame: frame)
            return Result { () throws(Failure) in try read(&reply) }
        case .failure(let error):
            return .failure(failure(error))
        }
    }

    /// Like `Result.map`: what `read` reads from the reply, which it is
    /// lent for the call, or the call's failure.
    @inlinable
    public func map<Value>(_ read: (inout RESPReply) -> Value) -> Result<Value, RedisError> {
        map({ (reply) throws(RedisError) in read(&reply) }, failure: { $0 })
    }
}
