import LockdTestSupport
import Testing

@testable import LockdHTTP

/// ``HTTPHeaders`` writes a decoded field's line in one piece into room it
/// keeps (lengths, then the bytes from the name to the value's end); before,
/// each field was assembled as name and value and appended. Checked here
/// against that old store, kept below as it was: on tens of thousands of
/// random field sets — decoded from a head and added by name and value, with
/// whitespace around values, empty values, repeats in any case, bytes ≥ 0x80,
/// fields long enough to grow the room — every read (iteration, subscript,
/// bytes, every value, presence, removal, equality) answers the same, also
/// after the storage went to the loop's spare and came back, and when a copy
/// still shares it.
@Suite struct HTTPHeadersStoreDifferentialTests {
    /// The store before: each field's name and value lengths, name, value,
    /// appended to an array (the old `HTTPHeaders.append`, verbatim in its effect).
    struct OldStore {
        var storage: [UInt8] = []
        var count = 0

        mutating func append(_ name: [UInt8], _ value: [UInt8]) {
            if storage.isEmpty { storage.reserveCapacity(256) }
            withUnsafeBytes(of: UInt32(name.count).littleEndian) { storage.append(contentsOf: $0) }
            withUnsafeBytes(of: UInt32(value.count).littleEndian) { storage.append(contentsOf: $0) }
            storage += name
            storage += value
            count += 1
        }

        var fields: [(name: [UInt8], value: [UInt8])] {
            var fields: [(name: [UInt8], value: [UInt8])] = []
            var offset = 0
            for _ in 0..<count {
                let nameLength = storage[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | Int($1) }
                let valueLength = storage[(offset + 4)..<(offset + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
                let nameStart = offset + 8, valueStart = nameStart + nameLength
                offset = valueStart + valueLength
                fields.append((Array(storage[nameStart..<valueStart]), Array(storage[valueStart..<offset])))
            }
            return fields
        }

        /// The first value of `name` (ASCII case-insensitive), as the old lookup found it.
        func first(_ name: String) -> [UInt8]? {
            fields.first { lowered($0.name) == lowered(Array(name.utf8)) }?.value
        }

        func lowered(_ bytes: [UInt8]) -> [UInt8] { bytes.map(HTTPSyntax.lowercased) }
    }

    /// Names looked up; the random fields use all but `Host` (a second one is refused).
    static let names = ["Host", "host", "Accept", "Lock-Token", "lock-token", "X-Request-Id", "Content-Type", "X-A", "x", "Traceparent",
                        "Content-Encoding", "X-Very-Long-Field-Name-That-Goes-On-And-On"]

    static func randomValue(_ random: inout SplitMix64) -> [UInt8] {
        let alphabet = Array("abcXYZ019-_.,;=/ \t\"".utf8) + [0xC3, 0xA9, 0xFF, 0x80]
        let length = [0, 1, 2, 7, 15, 16, 31, 200, 700][Int(random.next() % 9)]
        var value = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
        // A value never starts or ends with whitespace once trimmed.
        while let first = value.first, first == 0x20 || first == 0x09 { value.removeFirst() }
        while let last = value.last, last == 0x20 || last == 0x09 { value.removeLast() }
        return value
    }

    /// Compares every read of `new` with `old`.
    static func expectSame(_ new: HTTPHeaders, _ old: OldStore, _ context: String) {
        let oldFields = old.fields
        #expect(new.count == old.count, "\(context)")
        let newFields = Array(new)
        #expect(newFields.count == oldFields.count, "\(context)")
        for (n, o) in zip(newFields, oldFields) {
            #expect(n.name == String(decoding: o.name, as: UTF8.self) && n.value == String(decoding: o.value, as: UTF8.self), "\(context)")
        }
        var visited = 0
        new.forEachField { name, value in
            #expect(visited < oldFields.count && Array(name) == oldFields[visited].name && Array(value) == oldFields[visited].value, "\(context)")
            visited += 1
            return true
        }
        #expect(visited == oldFields.count, "\(context)")
        for name in names + ["absent"] {
            let expected = old.first(name)
            #expect(new.firstValueBytes(named: name).map { Array($0) } == expected, "\(context) \(name)")
            #expect(new[name] == expected.map { String(decoding: $0, as: UTF8.self) }, "\(context) \(name)")
            #expect(new.contains(name) == (expected != nil), "\(context) \(name)")
            let all = oldFields.filter { old.lowered($0.name) == old.lowered(Array(name.utf8)) }.map { String(decoding: $0.value, as: UTF8.self) }
            #expect(new.values(for: name) == all, "\(context) \(name)")
        }
    }

    @Test func decodedAndAddedFieldsReadAsTheOldStoreReadThem() {
        var random = SplitMix64(seed: 0x4EAD_E25)
        var spare = SpareRequestStorage()
        var held: [(HTTPHeaders, OldStore)] = []
        for round in 0..<400 {
            let fieldCount = Int(random.next() % 9)
            var old = OldStore()
            old.append(Array("Host".utf8), Array("h".utf8))
            var head = "GET / HTTP/1.1\r\nHost: h\r\n"
            var fields: [([UInt8], [UInt8])] = []
            for _ in 0..<fieldCount {
                let name = Array(Self.names[2 + Int(random.next() % UInt64(Self.names.count - 2))].utf8)
                let value = Self.randomValue(&random)
                let before = [" ", "", "\t", "  \t "][Int(random.next() % 4)]
                let after = ["", " ", "\t", " \t"][Int(random.next() % 4)]
                head += String(decoding: name, as: UTF8.self) + ":" + before
                fields.append((name, value))
                old.append(name, value)
                // The value's bytes as they are, even those that are not UTF-8.
                head += "\u{1}" + String(fields.count - 1) + "\u{1}" + after + "\r\n"
            }
            head += "\r\n"
            // Splice the raw value bytes in place of their markers.
            var bytes: [UInt8] = []
            var parts = Array(head.utf8).split(separator: 1, omittingEmptySubsequences: false).makeIterator()
            bytes += parts.next() ?? []
            while let index = parts.next(), let rest = parts.next() {
                bytes += fields[Int(String(decoding: index, as: UTF8.self)) ?? 0].1
                bytes += rest
            }
            var decoder = HTTPRequestDecoder(limits: HTTPRequestLimits())
            decoder.adoptStorage(from: &spare)
            var consumed = 0
            let event = bytes.withUnsafeBytes { decoder.decode($0, consumed: &consumed) }
            guard case .request(var request, _) = event else {
                Issue.record("round \(round): expected a request, got \(event)")
                return
            }
            Self.expectSame(request.headers, old, "decoded, round \(round)")

            // The same fields added by name and value, to headers of their own.
            var added = HTTPHeaders()
            for (name, value) in [(Array("Host".utf8), Array("h".utf8))] + fields {
                name.withUnsafeBytes { name in value.withUnsafeBytes { value in added.append(name, value) } }
            }
            Self.expectSame(added, old, "added, round \(round)")
            #expect(added == request.headers, "round \(round)")

            // Some requests stay held (as by a task) while their storage goes to the spare.
            if random.next() % 4 == 0 { held.append((request.headers, old)) }
            spare.recycle(&request)

            // Removal keeps the rest in order, as the old store's filter would.
            if let name = Self.names.randomElement(using: &random) {
                var removed = added
                removed.remove(name)
                var expected = OldStore()
                for field in old.fields where old.lowered(field.name) != old.lowered(Array(name.utf8)) { expected.append(field.name, field.value) }
                Self.expectSame(removed, expected, "removed \(name), round \(round)")
                Self.expectSame(added, old, "the copy before removal, round \(round)")
            }
        }
        for (index, (headers, old)) in held.enumerated() { Self.expectSame(headers, old, "held \(index)") }
    }

    /// Storage emptied while a copy still shares it is copied before it is
    /// written: the copy keeps its fields.
    @Test func emptiedSharedStorageLeavesTheCopyAlone() {
        var headers: HTTPHeaders = ["Host": "a", "Lock-Token": String(repeating: "t", count: 40)]
        let copy = headers
        headers.removeAllKeepingStorage()
        #expect(headers.isEmpty && headers.storageCapacity > 0)
        headers.add(name: "X", value: "new")
        #expect(Array(headers).map(\.name) == ["X"] && headers["x"] == "new")
        #expect(Array(copy).map(\.name) == ["Host", "Lock-Token"] && copy["lock-token"] == String(repeating: "t", count: 40))
    }
}
