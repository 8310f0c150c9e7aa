import LockdTransport
import RESP

extension RedisClient {
    /// ``run(_:keyCount:arguments:idempotent:)`` answered through
    /// `completion` rather than awaited: for a caller on one of the client's
    /// loops that runs no task (an HTTP request answered from the reply).
    ///
    /// With a single server or Sentinel, `completion` runs on the loop of
    /// the connection the call went out on — the caller's, when it runs on
    /// one of the client's loops — as soon as the reply is read; no task is
    /// made. In a cluster (redirections and retries wait) the call runs in a
    /// task of its own and `completion` runs there.
    ///
    /// The reply is read during `completion` (``RedisScriptReply``), where
    /// it arrived when it can be: a script's usual reply, an array of
    /// integers and strings, is then never decoded into a ``RESPValue``.
    ///
    /// `cancellation` stands for the caller's task: cancelled before the
    /// call is written, the call is never sent; after, its reply is read
    /// and dropped. Either way `completion` gets `cancelled`.
    public func run(
        _ script: RedisScript, keyCount: Int, arguments: RESPEncodedArguments, idempotent: Bool = false,
        cancellation: CallCancellation, completion: @escaping @Sendable (borrowing RedisScriptReply) -> Void
    ) {
        guard !isCluster else {
            return cancellation.startTask { [self] in
                do throws(RedisError) {
                    let value = try await run(script, keyCount: keyCount, arguments: arguments, idempotent: idempotent)
                    RedisScriptReply.reading(value, completion)
                } catch {
                    completion(RedisScriptReply(failure: error))
                }
            }
        }
        if cancellation.isCancelled { return completion(RedisScriptReply(failure: RedisError(.cancelled, message: "the caller was cancelled"))) }
        let router = router()
        let call = RedisScriptCall(client: self, router: router, script: script, keyCount: keyCount, arguments: arguments, completion: completion)
        cancellation.onCancel(call)
        if router.loop.inEventLoop {
            call.send()
        } else {
            router.loop.execute { call.send() }
        }
    }
}
