import RESP

extension RedisClient {
    /// Publishes `message` on `channel` without waiting for the reply: called
    /// on one of the client's loops, the command is written before the call
    /// returns (whatever that thread writes next, an HTTP answer say, cannot
    /// overtake it: a client acting on that answer through another
    /// connection cannot have its own command's message reach Redis first),
    /// and `then` runs on that loop with the reply — how many
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
            }, now: true)
        }
        if router.loop.inEventLoop { submit() } else { router.loop.execute(submit) }
    }
}
