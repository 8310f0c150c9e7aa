@testable import LockdAPI
import LockEngine
import LockdJSON
import Testing

/// ``AcquireBody``'s one pass reads every acquire body into the request
/// (or the error) that reading it field by field gives: main's reading
/// through ``RequestBody`` (``AcquireBody/byFields(_:name:defaultTTLMs:client:waitMs:)``)
/// and, apart from it, the parser-only reader of review7
/// (``FlatBodyDifferentialReviewTests/ReferenceBody``) asked in the same
/// order — on written bodies and on seeded mutations of many others.
@Suite struct AcquireBodyTests {
    /// What a client sees of an acquire's reading: the request's every
    /// field, or the error; and the wait kept for a failure's answer.
    struct Outcome: Equatable, CustomStringConvertible {
        var request: [String] = []
        var token: LeaseToken?
        var error: LockError?
        var waitMs: Int64 = 0

        init(_ read: (inout Int64) throws(LockError) -> AcquireRequest) {
            do throws(LockError) {
                let request = try read(&waitMs)
                self.request = [request.name.description, "\(request.ttlMs)", "\(request.waitMs)", "\(String(describing: request.owner))",
                                "\(request.limit)", "\(request.mode)", "\(String(describing: request.client))",
                                "\(String(describing: request.durability))", "\(request.lockDelayMs)"]
                token = request.token
            } catch {
                self.error = error
            }
        }

        var description: String {
            "\(error.map { "\($0)" } ?? request.joined(separator: " ")) token \(token.map { "\($0.description.count)" } ?? "nil") wait \(waitMs)"
        }
    }

    static let name = try! LockName("a-lock")
    static let defaultTTLMs: Int64 = 30_000

    static func new(_ bytes: [UInt8], client: String? = nil) -> Outcome {
        Outcome { (waitMs) throws(LockError) in
            try AcquireBody.request(bytes, name: name, defaultTTLMs: defaultTTLMs, client: client, waitMs: &waitMs)
        }
    }

    static func byFields(_ bytes: [UInt8], client: String? = nil) -> Outcome {
        Outcome { (waitMs) throws(LockError) in
            try AcquireBody.byFields(bytes, name: name, defaultTTLMs: defaultTTLMs, client: client, waitMs: &waitMs)
        }
    }

    /// The acquire's reading order (LockAPI's before this branch) over the
    /// parser-only reader.
    static func reference(_ bytes: [UInt8], client: String? = nil) -> Outcome {
        Outcome { (waitMs) throws(LockError) in
            let body = try FlatBodyDifferentialReviewTests.ReferenceBody<AcquireField>(bytes)
            // `integer` is nil only for an absent field (a value of another type throws).
            func isAbsent(_ field: AcquireField) -> Bool {
                do { return try body.integer(field) == nil } catch { return false }
            }
            let onlyTTL = [AcquireField.waitMs, .owner, .token, .limit, .mode, .durability, .lockDelayMs].allSatisfy(isAbsent)
            if onlyTTL {
                return AcquireRequest(name: name, ttlMs: try body.integer(.ttlMs) ?? defaultTTLMs, client: client)
            }
            let limit = Int(try body.integer(.limit) ?? 1)
            var mode = LockMode.exclusive
            if let text = try body.string(.mode) {
                guard let known = LockMode(rawValue: text) else {
                    throw .invalidRequest("mode must be \"exclusive\" or \"shared\", not \"\(text.prefix(40))\"")
                }
                mode = known
            }
            waitMs = try body.integer(.waitMs) ?? 0
            let ttlMs = try body.integer(.ttlMs) ?? defaultTTLMs
            let owner = try body.string(.owner)
            let token = try body.string(.token).map { (text: String) throws(LockError) in try LeaseToken(text) }
            var durability: Durability?
            if let text = try body.string(.durability) {
                guard let known = Durability(rawValue: text) else {
                    throw .invalidRequest("durability must be \"primary\" or \"replicated\", not \"\(text.prefix(40))\"")
                }
                durability = known
            }
            return AcquireRequest(name: name, ttlMs: ttlMs, waitMs: waitMs, owner: owner, token: token, limit: limit, mode: mode,
                                  client: client, durability: durability, lockDelayMs: try body.integer(.lockDelayMs) ?? 0)
        }
    }

    /// Whether the one pass takes `bytes` (else they are read field by
    /// field): its members read, and its token, if any, a token.
    static func passTakes(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            guard let members = AcquireBody.Members(buffer, defaultTTLMs: defaultTTLMs) else { return false }
            return members.token.count < 0 || AcquireBody.Members.token(members.token, in: buffer) != nil
        }
    }

    /// The three readings agree on `bytes`; returns whether the pass took them.
    @discardableResult
    static func expectSame(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        let new = new(bytes)
        #expect(new == byFields(bytes), "\(bytes) \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        #expect(new == reference(bytes), "\(bytes) \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
        return passTakes(bytes)
    }

    static let token = "abcdefghijklmnopqrstuvwxyz012345"

    /// Bodies clients send, read at once: compact, spaced (Python's
    /// `json.dumps`), pretty (lockd's client), the README's, every field.
    static let common: [String] = [
        "", " \r\n\t", "{}", " { } ", #"{"ttl_ms":30000}"#, #"{"ttl_ms":1000}"#, #"{"ttl_ms":30000,"wait_ms":0}"#,
        #"{"ttl_ms": 30000, "owner": "billing-7"}"#, #"{"ttl_ms": 30000, "wait_ms": 5000}"#, #"{"owner": "billing-7", "ttl_ms": 30000}"#,
        "{\n  \"token\" : \"\(token)\",\n  \"ttl_ms\" : 30000\n}", "{\n  \"token\" : \"\(token)\",\n  \"ttl_ms\" : 30000,\n  \"wait_ms\" : 250\n}",
        #"{"lock_delay_ms":5,"durability":"replicated","mode":"shared","limit":1,"token":"tok_tok_tok_tok_tok_tok","owner":"me","wait_ms":250,"ttl_ms":1500}"#,
        #"{"limit":5,"ttl_ms":10000,"durability":"primary","mode":"exclusive"}"#, #"{"wait_ms":-1,"ttl_ms":-0}"#,
        #"{"ttl_ms":999999999999999999}"#, #"{"ttl_ms":-999999999999999999}"#, #"{"owner":""}"#, "{\"owner\":\"~ !#$%&'()*+,-./:;<=>?@[]^_`{|}\u{7F}\"}",
        "{\"token\":\"\(String(repeating: "A", count: 22))\"}", "{\"token\":\"\(String(repeating: "z", count: 128))\"}",
        #"{"lock_delay_ms":60000}"#, #"{"mode":"shared"}"#, #"{"durability":"replicated","ttl_ms":1}"#,
    ]

    /// Bodies the pass leaves to the reading by fields (not JSON, wrong
    /// types, escapes, non-ASCII, numbers beyond its digits, bad values…).
    static let left: [String] = [
        "[]", "null", "1", "\"x\"", "{", "}", "{\"ttl_ms\":1000", #"{"ttl_ms":1000,}"#, #"{,"ttl_ms":1000}"#, #"{"ttl_ms":1000}x"#,
        #"{"ttl_ms":1000}{}"#, #"{"ttl_ms":1000,"ttl_ms":1000}"#, #"{"nope":1}"#, #"{"TTL_MS":1}"#, #"{"ttl_ms ":1}"#, #"{"":1}"#,
        #"{"ttl_ms":1e3}"#, #"{"ttl_ms":1000.0}"#, #"{"ttl_ms":1.5}"#, #"{"ttl_ms":01}"#, #"{"ttl_ms":-}"#, #"{"ttl_ms":+1}"#,
        #"{"ttl_ms":1234567890123456789}"#, #"{"ttl_ms":9223372036854775808}"#, #"{"ttl_ms":123456789012345678901234567890}"#,
        #"{"ttl_ms":1e400}"#, #"{"ttl_ms":null}"#, #"{"ttl_ms":true}"#, #"{"ttl_ms":"1000"}"#, #"{"owner":5}"#, #"{"owner":null}"#,
        #"{"owner":{"a":[1,2]}}"#, #"{"owner":[]}"#, #"{"owner":"a\"b"}"#, #"{"owner":"\u00e9"}"#, "{\"owner\":\"é\"}", "{\"owner\":\"😀\"}",
        #"{"owner":"\ud83d"}"#, "{\"owner\":\"a\tb\"}", #"{"mode":"Shared"}"#, #"{"mode":"reader"}"#, #"{"mode":1}"#,
        #"{"durability":"all"}"#, #"{"durability":""}"#, #"{"token":"short"}"#, #"{"token":"abcdefghijklmnopqrstuvwxyz01234!"}"#,
        "{\"token\":\"\(String(repeating: "z", count: 129))\"}", #"{"limit":"2"}"#, #"{"limit":2.5}"#, #"{"ttl_ms":true,"limit":"x","mode":"y"}"#,
        #"{"mode":"x","wait_ms":"y"}"#, #"{"wait_ms":"y","ttl_ms":null}"#, #"{"token":"bad","durability":"x"}"#, #"{"lock_delay_ms":[]}"#,
        #"{"ttl\u005fms":1}"#, #"{'ttl_ms':1}"#, #"{ttl_ms:1}"#, "\u{FEFF}{}", "{\"ttl_ms\"\u{0B}:1}", #"{"mode""#, #"{"lock_delay"#,
        #"{"lock_delay_m":1}"#, #"{"durabilit":"primary"}"#, #"{"durabilityy":"primary"}"#, #"{"wait_m":1}"#, #"{"tokens":"x"}"#,
    ]

    @Test func commonBodiesAreReadAtOnceAsByFields() {
        for text in Self.common {
            let taken = Self.expectSame(Array(text.utf8))
            #expect(taken, "\(text)")
        }
    }

    @Test func otherBodiesAreLeftToTheReadingByFields() {
        for text in Self.left {
            let taken = Self.expectSame(Array(text.utf8))
            #expect(!taken, "\(text)")
        }
    }

    /// Answers clients see, unchanged: the README's body, and the first
    /// error in the reading order when several fields are wrong.
    @Test func answersAreTheReadingByFieldsAnswers() throws {
        let readme = Self.new(Array(#"{"ttl_ms": 30000, "owner": "billing-7"}"#.utf8), client: "svc")
        #expect(readme.request == ["a-lock", "30000", "0", #"Optional("billing-7")"#, "1", "exclusive", #"Optional("svc")"#, "nil", "0"])
        #expect(Self.new(Array(#"{"ttl_ms":true,"limit":"x","mode":"y"}"#.utf8)).error
            == .invalidRequest("limit must be an integer, not a string"))
        #expect(Self.new(Array(#"{"mode":"x","wait_ms":"y"}"#.utf8)).error
            == .invalidRequest(#"mode must be "exclusive" or "shared", not "x""#))
        let wrongTTL = Self.new(Array(#"{"wait_ms":250,"ttl_ms":null}"#.utf8))
        #expect(wrongTTL.error == .invalidRequest("ttl_ms must be an integer, not null") && wrongTTL.waitMs == 250)
        #expect(Self.new(Array(#"{"token":"bad","durability":"x"}"#.utf8)).error == LeaseToken.malformed)
        #expect(Self.new(Array(#"{"ttl_ms":1,"ttl_ms":2}"#.utf8)).error == .invalidRequest("field 'ttl_ms' appears more than once"))
        guard case .invalidRequest(let detail)? = Self.new(Array(#"{"ttl_ms":1}x"#.utf8)).error else {
            Issue.record("trailing bytes read as a request")
            return
        }
        #expect(detail.hasPrefix("body is not valid JSON: "))
    }

    /// Seeded mutations of each body (bytes inserted, dropped or replaced
    /// from JSON's characters, the keys' letters and bytes beyond ASCII;
    /// members spliced in, the body cut short): each read three ways. Both
    /// sides are reached: the pass takes some of each seed's mutations and
    /// leaves others.
    @Test(arguments: [
        #"{"ttl_ms":30000}"#, #"{"ttl_ms":30000,"wait_ms":0}"#, #"{"ttl_ms": 30000, "owner": "billing-7"}"#,
        #"{"ttl_ms": 30000, "wait_ms": 5000}"#, "{\n  \"token\" : \"abcdefghijklmnopqrstuvwxyz012345\",\n  \"ttl_ms\" : 30000\n}",
        #"{"lock_delay_ms":5,"durability":"replicated","mode":"shared","limit":1,"owner":"me","wait_ms":250,"ttl_ms":1500}"#,
        #"{"limit":5,"mode":"exclusive","durability":"primary","token":"tok_tok_tok_tok_tok_tok"}"#,
        #"{"owner":"a\"b\u00e9","ttl_ms":1e3,"wait_ms":-0,"limit":123456789012345678901}"#, #"{"owner":{"n":[1,{"x":null}]},"mode":true}"#, "{}",
    ])
    func mutatedBodiesReadAlike(_ seed: String) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: seed.utf8.count &* 0x1000_0001)
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        let seed = Array(seed.utf8)
        let pool = Array(#"{}[]":,0123456789-+.eE tfnul\"x_ -trkwaiosmdybcpe"#.utf8) + [0x0A, 0x09, 0x0D, 0x00, 0x7F, 0xC3, 0xA9, 0xFF]
        let members = [#""ttl_ms":1"#, #""wait_ms":2"#, #""owner":"o""#, #""token":"abcdefghijklmnopqrstuv""#, #""limit":3"#,
                       #""mode":"shared""#, #""durability":"primary""#, #""lock_delay_ms":4"#, #""other":5"#, ","].map { Array($0.utf8) }
        var taken = 0
        let count = 15_000
        for _ in 0..<count {
            var body = seed
            for _ in 0..<(1 + next() % 3) {
                let at = next() % (body.count + 1)
                switch next() % 8 {
                case 0, 1: body.insert(pool[next() % pool.count], at: at)
                case 2, 3: if at < body.count { body.remove(at: at) }
                case 4, 5: if at < body.count { body[at] = pool[next() % pool.count] }
                case 6: body.insert(contentsOf: members[next() % members.count] + [UInt8(ascii: ",")], at: at)
                default: if next() % 4 == 0 { body = Array(body.prefix(at)) }
                }
            }
            if Self.expectSame(body) { taken += 1 }
        }
        // Both ways reached, from every seed.
        #expect(taken > 0 && taken < count, "\(taken) of \(count) taken at once")
    }
}

/// ``AcquireBody/Key`` (a word compare or two) against the obvious lookup,
/// comparing the key with every field's name as text: every name, and
/// every name cut short, lengthened and changed at each of its bytes.
@Suite struct AcquireBodyKeyTests {
    @Test func findsWhatComparingTheTextsFinds() {
        for key in FieldNameLookupTests.keys(AcquireField.self) + FieldNameLookupTests.keys(RenewField.self) {
            let expected = FieldNameLookupTests.obvious(key, AcquireField.self)
            // The key, its closing quote, then what a body may hold after it (at least 8 bytes are readable).
            for after in [#"":1}"#, #"""#, #"":"shared"}     "#, "\"\"\"\"\"\"\"\"\"\"\"\"\"\""] {
                let bytes = key + Array(after.utf8)
                guard bytes.count >= 8 else { continue }
                let found = bytes.withUnsafeBufferPointer { buffer in
                    AcquireBody.Key(at: buffer.baseAddress!, end: buffer.baseAddress! + buffer.count)
                }
                let text = String(decoding: key, as: UTF8.self)
                if let expected {
                    #expect(found.bit == 1 << UInt8(expected.rawValue) && found.length == key.count, "\(text)")
                } else {
                    #expect(found.bit == 0 && found.length == 0, "\(text)")
                }
            }
        }
    }
}
