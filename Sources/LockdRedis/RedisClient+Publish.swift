import RESP

extension RedisClient {
    /// Publishes `message` on `channel` without waiting for the reply: the
    /// command joins whatever the caller's loop writes next (pipelined with
    /// it), and `then` runs on that loop with the reply — how many
    /// subscribers received the message (on a cluster: those of the one
    /// node it went to) — or nil when it failed. Nothing is retried.
    ///
    /// ```swift
    /// client.publish("lockd:events", message: text) { receivers in if receivers == 0 { nobodyListens() } }
    /// ```
    public func publish(_ channel: String, message: String, then: @escaping @Sendable (Int?) -> Void = { _ in }) {
        let router = router()
        let arguments: [RESPBulk] = ["PUBLISH", .string(channel), .string(message)]
        let submit: @Sendable () -> Void = {
            let id = router.nextID.wrappingAdd(1, ordering: .relaxed).newValue
            router.send(arguments, to: .slot(nil), id: id, waiter: .callback { result in
                then((try? result.get())?.int)
            })
        }
        if router.loop.inEventLoop { submit() } else { router.loop.execute(submit) }
    }
}
