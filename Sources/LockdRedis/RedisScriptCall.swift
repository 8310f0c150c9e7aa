import LockdTransport
import RESP

/// One script call answered by callback, with a single server or Sentinel
/// (see ``RedisClient/run(_:keyCount:arguments:idempotent:cancellation:completion:)``):
/// the reply's waiter and what sends the script again by `EVAL` after
/// `-NOSCRIPT`, in one object — one allocation a call where a closure per
/// step cost three.
///
/// `@unchecked Sendable`, safe: every stored property is an immutable
/// Sendable value except `cached`, which only ``send()`` and
/// ``received(_:)`` touch, and both run on `router.loop`'s thread only.
final class RedisScriptCall: @unchecked Sendable {
    private let client: RedisClient
    private let router: LoopRouter
    private let script: RedisScript
    private let keyCount: Int
    private let arguments: RESPEncodedArguments
    /// The command's id: the same for the `EVAL` sent after `-NOSCRIPT`,
    /// whose entry is the only one with it by then, so a cancel finds it.
    let id: UInt64
    private let completion: @Sendable (Result<RESPValue, RedisError>) -> Void
    /// Whether `EVALSHA` is still to be tried (loop thread only).
    private var cached = true

    init(
        client: RedisClient, router: LoopRouter, script: RedisScript, keyCount: Int, arguments: RESPEncodedArguments,
        completion: @escaping @Sendable (Result<RESPValue, RedisError>) -> Void
    ) {
        self.client = client
        self.router = router
        self.script = script
        self.keyCount = keyCount
        self.arguments = arguments
        self.id = router.nextID.wrappingAdd(1, ordering: .relaxed).newValue
        self.completion = completion
    }

    /// Hands the command to the master's connection (loop thread only).
    func send() {
        guard let connection = router.singleConnection() else { return received(.failure(router.noSingleMaster())) }
        connection.sendScript(head: cached ? script.cachedHead : script.uncachedHead, keyCount: keyCount, arguments: arguments,
                              id: id, waiter: .script(self))
    }

    /// The command's outcome (loop thread only): `-NOSCRIPT` sends the
    /// script itself, once; anything else goes to the caller.
    func received(_ result: Result<RESPValue, RedisError>) {
        if case .failure(let error) = result {
            if cached, error.code == "NOSCRIPT" {
                cached = false
                return send()
            }
            client.noticed(error)
        }
        completion(result)
    }
}
