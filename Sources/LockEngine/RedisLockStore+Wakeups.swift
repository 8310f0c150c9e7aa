import LockdRedis
import Synchronization

/// Handing waiters their wake-ups and grants: the subscriptions that carry
/// them, and the scripts' announcements parsed.
extension RedisLockStore {
    public func deliverEvents(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        ownWakeups.withLock { $0 = EventHandler(handle: handler) }
        defer { ownWakeups.withLock { $0 = nil } }
        await withTaskGroup(of: Void.self) { group in
            // On the thread that reads the messages: a wake-up reaches its
            // waiter without a hop through the global executor.
            if let shardWakeups {
                shardWakeups.deliver { [self] name, event in
                    // A renewed subscription concerns its own name only.
                    if case .resubscribed = event { handler(.resubscribed(name)) } else { deliver(event, to: handler) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(500))
                        shardWakeups.dropUnwanted()
                    }
                    // Nobody delivers wake-ups any more: stop listening.
                    shardWakeups.close(forGood: false)
                }
            }
            // The classic subscription: wake-ups (not in a Cluster) and the
            // event watchers' announcements (everywhere).
            group.addTask(executorPreference: client.subscriptionLoop) { await self.deliverWakeups(to: handler) }
            // Lock events too: the hub hands each to its streams' loops from
            // the thread that read it, rather than after a hop through the
            // global executor (whose thread may have to be woken first).
            group.addTask(executorPreference: client.subscriptionLoop) { await self.eventChannel.deliver(to: handler) }
            group.addTask { await self.eventChannel.reannounce() }
            // A (re)connected command connection: the store may have
            // restarted empty, or failed over to a replica that lacks the
            // latest queue entries.
            for client in client === livenessClient ? [client] : [client, livenessClient] {
                group.addTask {
                    for await _ in client.connectionReadyEvents() {
                        // Perhaps another server now, with another clock.
                        self.clockOffset.reset()
                        handler(.reconnected)
                    }
                }
            }
        }
    }

    private func deliverWakeups(to handler: @escaping @Sendable (StoreEvent) -> Void) async {
        var missed = false
        while !Task.isCancelled {
            do {
                // The second channel carries nothing: subscribing to it tells
                // the scripts that this instance listens (see `ready_for_grant`).
                // In a Cluster wake-ups travel on shard channels instead.
                let wakeupChannels = shardWakeups == nil
                    ? [RedisLockScripts.wakeupChannel, "\(RedisLockScripts.wakeupChannel):\(instanceID)"] : []
                let subscription = try await client.subscribe(to: wakeupChannels + [RedisEventChannel.watchingChannel])
                // Announcements published while not subscribed are lost.
                if missed {
                    if shardWakeups == nil { handler(.reconnected) }
                    eventChannel.someoneMayWatch()
                }
                for await event in subscription {
                    switch event {
                    case .message(let message) where message.channel == RedisEventChannel.watchingChannel:
                        eventChannel.heard(announcement: message.string)
                    case .resubscribed:
                        if shardWakeups == nil { handler(.reconnected) }
                        eventChannel.someoneMayWatch()
                    case .message:
                        deliver(event, to: handler)
                    }
                }
            } catch {
                guard !Task.isCancelled else { break }
                // Without it waiters rely on rechecks and events stop: an
                // operator must hear of a lasting failure (say, `NOPERM`).
                if let suppressed = subscriptionWarnings.admit() {
                    logger.warning("cannot subscribe to the wake-up channel; retrying", metadata: ["error": "\(error)", "suppressed": "\(suppressed)"])
                } else {
                    logger.debug("wake-up subscription failed; retrying", metadata: ["error": "\(error)"])
                }
            }
            missed = true
            // Ended without cancellation: the client is shutting down or
            // reconnecting; do not spin.
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    private func deliver(_ event: RedisSubscription.Event, to handler: @Sendable (StoreEvent) -> Void) {
        switch event {
        case .message(let message):
            if let wakeup = wakeup(from: message.payload) { handler(.wakeup(wakeup)) }
        case .resubscribed:
            handler(.reconnected)
        }
    }

    /// Parses `name\nrecheck_ms\nentry…`, the scripts' announcement; an
    /// entry is `member` (wake it) or `member fence now` (granted). By byte,
    /// in one pass: splitting it as text, by `Character`, cost ~4% of
    /// lockd's CPU on a contended semaphore.
    /// - Parameter known: the name the message is about, when known (a
    ///   release's reply): its text is then neither copied nor validated.
    func wakeup(from message: [UInt8], on known: LockName? = nil) -> Wakeup? {
        message.withUnsafeBufferPointer { bytes -> Wakeup? in
            let newline = UInt8(ascii: "\n"), space = UInt8(ascii: " ")
            guard let nameEnd = bytes.firstIndex(of: newline),
                  let name = known ?? (try? LockName(String(decoding: UnsafeBufferPointer(rebasing: bytes[..<nameEnd]), as: UTF8.self)))
            else { return nil }
            var position = nameEnd + 1
            // From `position` up to `stop`, a newline or the end; `position` moves there.
            func field(until stop: UInt8) -> Slice<UnsafeBufferPointer<UInt8>> {
                let start = position
                while position < bytes.endIndex, bytes[position] != stop, bytes[position] != newline { position += 1 }
                return bytes[start..<position]
            }
            let recheck = Self.integer(field(until: newline)).flatMap { $0 > 0 ? $0 : nil }
            var wake: [WaiterID] = []
            var granted: [HandedGrant] = []
            // A notice naming no waiter (a renewal down, a waiter leaving, a
            // grant to the head) says only when the first slot ends: it does
            // not undo a sooner look the waiters were told of — when a woken
            // head's lockd counts as gone — so its recheck only brings one
            // forward. One that names waiters (anyone's) replaces it.
            let namesWaiters = position < bytes.endIndex
            while position < bytes.endIndex {
                position += 1  // the newline before the entry
                let member = field(until: space)
                var numbers: [Int64?] = []
                while position < bytes.endIndex, bytes[position] == space {
                    position += 1
                    numbers.append(Self.integer(field(until: space)))
                }
                guard let waiter = waiter(fromMember: member) else { continue }
                if numbers.count == 2, let fence = numbers[0], let now = numbers[1] {
                    // An unknown node: as old as can be (given back, not delivered dead).
                    let grantedBefore = clockSource(name).map { clockOffset.monotonic(ofStoreMs: now, source: $0) } ?? 0
                    granted.append(HandedGrant(waiter: waiter, fence: fence, grantedAtMs: now, grantedBefore: grantedBefore))
                } else {
                    wake.append(waiter)
                }
            }
            return Wakeup(name: name, hint: WaitHint(wake: wake, granted: granted, recheckAfterMs: recheck), isOrdered: namesWaiters)
        }
    }

    /// A decimal integer, optionally negative; nil when `digits` is anything else.
    private static func integer(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int64? {
        var rest = digits[...]
        let negative = rest.first == UInt8(ascii: "-")
        if negative { rest = rest.dropFirst() }
        guard !rest.isEmpty, rest.count <= 18 else { return nil }
        var value: Int64 = 0
        for byte in rest {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
        }
        return negative ? -value : value
    }

    /// The waiter of this instance a queue entry's bytes stand for; nil for another instance's.
    private func waiter(fromMember member: Slice<UnsafeBufferPointer<UInt8>>) -> WaiterID? {
        let id = instanceID.utf8
        guard member.count > id.count + 1, member.starts(with: id), member[member.startIndex + id.count] == UInt8(ascii: ":") else { return nil }
        return WaiterID(String(decoding: UnsafeBufferPointer(rebasing: member[(member.startIndex + id.count + 1)...]), as: UTF8.self))
    }
}
