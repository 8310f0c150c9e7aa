import LockEngine
import Testing

@Suite struct NameAndTokenTests {
    @Test(arguments: ["a", "orders:4711", "A.b_c-d:e", String(repeating: "x", count: 255), "..."])
    func validNames(_ text: String) throws {
        #expect(try LockName(text).value == text)
    }

    @Test(arguments: ["", ".", "..", "with space", "slash/inside", "ümlaut", "star*", "{tag}", String(repeating: "x", count: 256)])
    func invalidNames(_ text: String) {
        #expect(throws: LockError.self) { try LockName(text) }
    }

    /// Exactly the bytes `A-Z a-z 0-9 . _ : -` may be in a name (each
    /// ASCII byte alone as a prefix; `é` as one beyond ASCII).
    @Test func nameBytesAreExactlyTheAllowedOnes() {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-".utf8)
        for byte in UInt8(0)..<128 {
            let valid = LockName.isValidPrefix(String(UnicodeScalar(byte)))
            #expect(valid == allowed.contains(byte), "byte \(byte)")
        }
        #expect(!LockName.isValidPrefix("é"))
        #expect(throws: LockError.self) { try LockName("caf\u{e9}") }
    }

    /// A name keeps its hash from when it was made: names made apart from
    /// one text are one key, and names that differ anywhere are distinct.
    @Test func namesAreKeysByTheirText() throws {
        let texts = (0..<2_000).map { "orders:\($0)" } + ["a", "b", "ab", "ba", String(repeating: "x", count: 255), String(repeating: "x", count: 254) + "y"]
        var table: [LockName: String] = [:]
        for text in texts { table[try LockName(text)] = text }
        #expect(table.count == texts.count)
        for text in texts {
            let name = try LockName(text)
            #expect(table[name] == text)
            #expect(name == (try LockName(text)))
            #expect(name.hashValue == (try LockName(text)).hashValue)
        }
        #expect(try LockName("ab") != (try LockName("ba")))
        #expect(Set(try texts.map { try LockName($0) }).count == texts.count)
    }

    /// Tables place names by their own hash mixed with the table's seed
    /// (`_rawHashValue(seed:)`): equal names alike under any seed, and a
    /// table filtered into a new one (as the in-memory sweep does) or grown
    /// from empty still finds every name it keeps.
    @Test func namesArePlacedByTheTablesSeed() throws {
        let names = try (0..<20_000).map { try LockName("sweep:\($0)") }
        for seed in [0, 1, -1, 42, .max, .min] {
            #expect(names[7]._rawHashValue(seed: seed) == (try LockName("sweep:7"))._rawHashValue(seed: seed))
        }
        #expect(Set([0, 1, 2, 3].map { names[7]._rawHashValue(seed: $0) }).count == 4)
        var table: [LockName: Int] = [:]
        for (index, name) in names.enumerated() { table[name] = index }
        let kept = table.filter { $0.value % 2 == 0 }
        #expect(kept.count == names.count / 2)
        for (index, name) in names.enumerated() {
            #expect(table[name] == index)
            #expect(kept[name] == (index % 2 == 0 ? index : nil))
        }
    }

    @Test func randomTokensAreWellFormedAndDistinct() throws {
        var seen = Set<String>()
        var characters = Set<Character>()
        for _ in 0..<1_000 {
            let token = LeaseToken.random()
            #expect(try LeaseToken(token.value) == token)
            #expect(token.value.utf8.count == 32)  // 192 bits, base64url
            seen.insert(token.value)
            characters.formUnion(token.value)
        }
        #expect(seen.count == 1_000)
        // Every one of base64url's 64 characters turns up in 32 000 draws.
        #expect(characters.count == 64)
    }

    /// Waiter ids are 16 lowercase hex digits (leading zeros kept: the
    /// Redis store takes an instance id's length as fixed) and the wish's
    /// tail, and say back the mode and limit they were made for.
    @Test func randomWaiterIDsAreWellFormedAndDistinct() {
        var seen = Set<String>()
        var digits = Set<Character>()
        for draw in 0..<1_000 {
            let (mode, limit): (LockMode, Int) = [(.exclusive, 1), (.exclusive, 4), (.shared, 1), (.exclusive, 1_000)][draw % 4]
            let waiter = WaiterID.random(mode: mode, limit: limit)
            let id = waiter.value.prefix(16)
            let tail = waiter.value.dropFirst(16)
            #expect(id.utf8.count == 16 && id.allSatisfy { "0123456789abcdef".contains($0) })
            #expect(tail == (mode == .shared ? ":s" : limit > 1 ? ":\(limit)" : ""))
            #expect(waiter.mode == mode && waiter.limit == limit)
            seen.insert(String(id))
            digits.formUnion(id)
        }
        #expect(seen.count == 1_000)
        #expect(digits.count == 16)
    }

    /// Tokens come from a shared pool of random bytes: drawn on several
    /// threads at once, across many refills, no two are alike.
    @Test func tokensDrawnConcurrentlyAreDistinct() async {
        let drawn = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask { (0..<1_000).map { _ in LeaseToken.random().value } }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(drawn.count == 4_000)
        #expect(Set(drawn).count == 4_000)
    }

    @Test(arguments: ["short", String(repeating: "a", count: 129), "has space in it 0123456789", "padding=0123456789abcdefg"])
    func malformedTokensAreRefused(_ text: String) {
        #expect(throws: LockError.self) { try LeaseToken(text) }
    }

    /// `==` compares eight bytes at a time, then the rest byte by byte: a
    /// difference in any byte, in a whole word or the tail, or in length
    /// makes two tokens unequal.
    @Test(arguments: [22, 24, 31, 32, 33, 128])
    func tokensAreEqualOnlyByteForByte(_ length: Int) throws {
        let text = String(String(repeating: LeaseToken.random().value, count: 4).prefix(length))
        let token = try LeaseToken(text)
        #expect(token == (try LeaseToken(String(text))))
        for position in [0, 7, 8, length / 2, length - 2, length - 1] {
            var bytes = Array(text.utf8)
            bytes[position] = bytes[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let other = try LeaseToken(String(decoding: bytes, as: UTF8.self))
            #expect(token != other && other != token, "differing at byte \(position) of \(length)")
        }
        if length < 128 {
            let longer = try LeaseToken(text + "x")
            #expect(token != longer && longer != token)
        }
    }

    @Test func tokensNeverPrintThemselves() {
        let token = LeaseToken.random()
        #expect(!"\(token)".contains(token.value))
        #expect(!String(describing: token).contains(token.value))
        #expect(!String(reflecting: token).contains(token.value))
        let lease = Lease(name: try! LockName("x"), token: token, fence: 1, ttlMs: 1, expiresAtMs: 1, owner: nil)
        #expect(!"\(lease)".contains(token.value))
    }
}
