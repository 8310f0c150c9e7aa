import LockdRedis
import RESP

/// A name's keys, written for a script call.
extension RedisLockStore {
    struct Keys {
        var lease, fence, waiters, holders, grants, wishes: String
    }

    static func keys(_ name: LockName) -> Keys {
        var name = name.value
        return name.withUTF8 { name in
            Keys(lease: key(name, "lease"), fence: key(name, "fence"), waiters: key(name, "waiters"),
                 holders: key(name, "holders"), grants: key(name, "grants"), wishes: key(name, "wishes"))
        }
    }

    /// The keys of a name as every queue-changing script takes them (the
    /// prelude's `LEASE`, `FENCE`, … indices).
    func nameKeys(_ name: LockName) -> [String] {
        let keys = Self.keys(name)
        return [keys.lease, keys.fence, keys.waiters, livenessKeys.key(for: name), keys.holders, keys.grants, keys.wishes]
    }

    /// How many keys ``nameKeys(_:)`` (and ``nameKeysCall(_:argumentRoom:_:)``) hold.
    static let nameKeyCount = 7

    /// ``nameKeys(_:)`` then the arguments `body` writes, for a script
    /// call: the keys straight from the name's bytes (no `String` per key),
    /// everything through one cursor (see
    /// ``RESPArgumentWriter/write(capacity:_:)``); `argumentRoom` is what
    /// the arguments may take.
    func nameKeysCall(_ name: LockName, argumentRoom: Int, _ body: (inout RESPArgumentCursor) -> Void) -> RESPEncodedArguments {
        RESPArgumentWriter.write(capacity: nameKeysRoom(name) + argumentRoom) { call in
            writeNameKeys(name, to: &call)
            body(&call)
        }
    }

    /// The room ``writeNameKeys(_:to:)`` needs for `name`'s keys.
    func nameKeysRoom(_ name: LockName) -> Int {
        // `lockd:{` + name + `}:` + a suffix of at most 7 bytes, and the liveness key.
        // (The liveness key's longest, not its own: in a Cluster, making it
        // to measure it cost as much as writing it.)
        (Self.nameKeyCount - 1) * (name.value.utf8.count + 16 + RESPArgumentWriter.overhead)
            + livenessKeys.maxKeyLength + RESPArgumentWriter.overhead
    }

    /// Writes ``nameKeys(_:)`` straight from the name's bytes (no `String` per
    /// key; in a Cluster, the liveness key from its slot's tag, as
    /// ``RedisLivenessKeys/key(for:)`` makes it).
    func writeNameKeys(_ name: LockName, to call: inout RESPArgumentCursor) {
        // A name of 4 to 32 bytes with the one shared liveness key (most
        // names, and every single server's): its bytes read once for the
        // six keys, each key then a few stores (~52 instructions a key
        // through the general path, the name's words loaded again for each).
        // The name is borrowed where it lies, not copied into a `var` as
        // `withUTF8` needs (a retain and two releases a call).
        if livenessKeys == .shared, name.value.utf8.withContiguousStorageIfAvailable({ bytes in
            guard let name = RESPRepeatedBytes(UnsafeRawBufferPointer(bytes)) else { return false }
            call.batch { call in
                call.append("lockd:{", name, "}:lease")
                call.append("lockd:{", name, "}:fence")
                call.append("lockd:{", name, "}:waiters")
                call.append("lockd:instances" as StaticString)
                call.append("lockd:{", name, "}:holders")
                call.append("lockd:{", name, "}:grants")
                call.append("lockd:{", name, "}:wishes")
            }
            return true
        }) == true {
            return
        }
        let slotTag = livenessKeys == .perSlot ? RedisHashSlot(key: name.value).hashTag : nil
        Self.withKeyBytes(name) { name in
            call.append("lockd:{", name, "}:lease")
            call.append("lockd:{", name, "}:fence")
            call.append("lockd:{", name, "}:waiters")
            if var tag = slotTag {
                tag.withUTF8 { call.append("lockd:{", UnsafeRawBufferPointer($0), "}:instances") }
            } else {
                call.append("lockd:instances" as StaticString)
            }
            call.append("lockd:{", name, "}:holders")
            call.append("lockd:{", name, "}:grants")
            call.append("lockd:{", name, "}:wishes")
        }
    }

    /// A writer with room for `count` of `name`'s keys and `argumentBytes` more.
    static func keysWriter(_ name: LockName, count: Int, argumentBytes: Int) -> RESPArgumentWriter {
        // `lockd:{` + name + `}:` + a suffix of at most 7 bytes.
        RESPArgumentWriter(capacity: count * (name.value.utf8.count + 16 + RESPArgumentWriter.overhead) + argumentBytes)
    }

    /// Calls `body` with the name's UTF-8 bytes.
    static func withKeyBytes(_ name: LockName, _ body: (UnsafeRawBufferPointer) -> Void) {
        var name = name.value
        name.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// `lockd:{NAME}:SUFFIX`, written into one allocation: interpolating and
    /// concatenating cost ~2 k instructions for a request's keys.
    private static func key(_ name: UnsafeBufferPointer<UInt8>, _ suffix: StaticString) -> String {
        let prefix: StaticString = "lockd:{"
        let infix: StaticString = "}:"
        let count = prefix.utf8CodeUnitCount + name.count + infix.utf8CodeUnitCount + suffix.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: count) { key in
            guard var next = key.baseAddress else { return 0 }
            func append(_ start: UnsafePointer<UInt8>?, _ count: Int) {
                if let start { next.initialize(from: start, count: count) }
                next += count
            }
            append(prefix.utf8Start, prefix.utf8CodeUnitCount)
            append(name.baseAddress, name.count)
            append(infix.utf8Start, infix.utf8CodeUnitCount)
            append(suffix.utf8Start, suffix.utf8CodeUnitCount)
            return count
        }
    }
}
