import RESP

/// This instance's waiters in the queues: their entries, leaving a queue,
/// the liveness beat, and putting back what the store forgot.
extension RedisLockStore {
    public func removeWaiter(_ waiter: WaiterID, from name: LockName, reclaimingGrant: Bool) async throws(LockError) {
        _ = try await run(scripts.removeWaiter, .removeWaiter, keys: nameKeys(name),
                          arguments: [member(waiter), name.value, reclaimingGrant ? "1" : ""])
    }

    public func beat(names: Set<LockName>) async throws(LockError) -> Bool {
        shardWakeups?.keep(names)
        let calls = livenessKeys.keys(for: names).map { key in
            (keys: [key], arguments: [instanceID, livenessWindowArgument])
        }
        let replies = try await run(scripts.beat, .beat, pipelined: calls, on: livenessClient)
        return replies.allSatisfy { $0.int == 1 }
    }

    public func reconcile(_ queues: [LocalQueue]) async throws(LockError) -> [QueueRepair] {
        let queues = queues.filter { !$0.waiters.isEmpty }
        let calls = queues.map { queue in
            (
                keys: nameKeys(queue.name),
                arguments: [livenessWindowArgument, String(retention(waitMs: queue.waitMs)), queue.name.value] + queue.waiters.map(member)
            )
        }
        var repairs: [QueueRepair] = []
        // Pipelined: one round trip per chunk rather than per name; chunked,
        // so that each pipeline's work fits in one command timeout.
        for start in stride(from: 0, to: calls.count, by: Self.pipelineChunk) {
            let range = start..<min(start + Self.pipelineChunk, calls.count)
            let replies = try await run(scripts.reconcile, .reconcile, pipelined: Array(calls[range]), on: livenessClient)
            for (queue, reply) in zip(queues[range], replies) {
                let fields = try Self.fields(reply, count: 3)
                repairs.append(QueueRepair(name: queue.name, restored: Int(try Self.int(fields[0])),
                                           hint: try hint(recheck: fields[1], wake: fields[2], except: nil)))
            }
        }
        return repairs
    }

    /// Names per pipeline.
    private static let pipelineChunk = 500

    /// A waiter's queue entry: this instance's id, then the waiter's.
    func member(_ waiter: WaiterID) -> String { "\(instanceID):\(waiter.value)" }

    /// Appends ``member(_:)`` of `waiter` as one argument, joined in a
    /// buffer on the stack: made as a `String` (an interpolation of two,
    /// grown as it is appended to, then freed), it cost a waiting acquire's
    /// script call ~1.5 k instructions.
    ///
    /// Both texts are read where they lie (lockd's ids are native strings):
    /// copied into `var`s for `withUTF8`, each was retained and released
    /// (~70 instructions a waiting attempt).
    func appendMember(_ waiter: WaiterID, to call: inout RESPArgumentCursor) {
        let joined = instanceID.utf8.withContiguousStorageIfAvailable { id in
            waiter.value.utf8.withContiguousStorageIfAvailable { tail in Self.appendJoined(id, tail, to: &call) } != nil
        } ?? false
        if !joined {
            var (id, tail) = (instanceID, waiter.value)
            id.withUTF8 { id in tail.withUTF8 { tail in Self.appendJoined(id, tail, to: &call) } }
        }
    }

    /// Appends `id`, a colon and `tail` as one argument.
    private static func appendJoined(_ id: UnsafeBufferPointer<UInt8>, _ tail: UnsafeBufferPointer<UInt8>,
                                     to call: inout RESPArgumentCursor) {
        let length = id.count + 1 + tail.count
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { buffer in
            guard let start = buffer.baseAddress else { return }
            if let base = id.baseAddress { start.initialize(from: base, count: id.count) }
            start[id.count] = UInt8(ascii: ":")
            if let base = tail.baseAddress { (start + id.count + 1).initialize(from: base, count: tail.count) }
            call.append(UnsafeRawBufferPointer(start: start, count: length))
        }
    }

    /// The waiter of this instance a queue entry stands for; nil for another instance's.
    private func waiter(fromMember member: some StringProtocol) -> WaiterID? {
        let id = instanceID.utf8
        guard member.utf8.count > id.count + 1, member.utf8.starts(with: id),
              member.utf8.dropFirst(id.count).first == UInt8(ascii: ":") else { return nil }
        return WaiterID(String(member.dropFirst(id.count + 1)))
    }

    /// How long a queue is kept after a waiter with `waitMs` to go joins it:
    /// its wait, plus slack for a lockd that is slow to leave. (Entries of a
    /// lockd that died go with it.)
    func retention(waitMs: Int64) -> Int64 { max(0, waitMs) + 2_000 }

    /// A script's `recheck_ms, {member…}` pair as a hint for this
    /// instance's waiters: wake the members that are ours (but not `except`,
    /// who asked).
    func hint(recheck: RESPValue, wake members: RESPValue, except: WaiterID?) throws(LockError) -> WaitHint {
        let recheckMs = try Self.int(recheck)
        let wake = (members.array ?? []).compactMap { $0.string.flatMap(waiter(fromMember:)) }.filter { $0 != except }
        return WaitHint(wake: wake, recheckAfterMs: recheckMs > 0 ? recheckMs : nil)
    }
}
