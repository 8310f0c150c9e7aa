@testable import LockEngine
import LockdTestSupport
import Testing

/// `LockName`'s one-pass check and hash (`LockName.scan`): the check says
/// what the byte-by-byte check it replaced (`isNameByte` over every byte)
/// says, and the hash is SipHash-1-3 — `Hasher`'s algorithm — byte for byte.
@Suite struct NameScanTests {
    /// The check it replaced, as it was.
    private static func reference(_ bytes: [UInt8]) -> Bool {
        bytes.allSatisfy(LockName.isNameByte)
    }

    private static func scan(_ bytes: [UInt8], key: (UInt64, UInt64) = LockName.hashKey) -> (valid: Bool, hash: Int) {
        bytes.withUnsafeBufferPointer { LockName.scan($0, key: key) }
    }

    /// Every byte value at every place of a word (and of the tail after
    /// one), among name bytes.
    @Test func everyByteAtEveryPlace() {
        for length in 1...17 {
            for place in 0..<length {
                for byte in UInt8.min...UInt8.max {
                    var bytes = [UInt8](repeating: UInt8(ascii: "k"), count: length)
                    bytes[place] = byte
                    #expect(Self.scan(bytes).valid == Self.reference(bytes), "byte \(byte) at \(place) of \(length)")
                }
            }
        }
    }

    /// Random texts of every length up to past the limit, of bytes drawn
    /// mostly from near the edges of the allowed ranges.
    @Test func randomTextsAgreeWithTheReference() {
        let edges: [UInt8] = [0x00, 0x20, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x39, 0x3A, 0x3B, 0x40, 0x41, 0x5A, 0x5B, 0x5E, 0x5F,
                              0x60, 0x61, 0x7A, 0x7B, 0x7F, 0x80, 0xAD, 0xC3, 0xE1, 0xFF]
        let seed: UInt64 = 0x4E41_4D45  // fixed, so a failure replays
        var generator = SplitMix64(seed: seed)
        var valid = 0
        for round in 0..<20_000 {
            let length = Int.random(in: 1...300, using: &generator)
            let bytes = (0..<length).map { _ in
                // Mostly name bytes, so that long texts are sometimes valid throughout.
                Int.random(in: 0..<(round % 2 == 0 ? 40 : 4_000), using: &generator) == 0
                    ? edges.randomElement(using: &generator)!
                    : Array("abcXYZ019._:-".utf8).randomElement(using: &generator)!
            }
            let expected = Self.reference(bytes)
            if expected { valid += 1 }
            #expect(Self.scan(bytes).valid == expected, "\(bytes) (seed \(seed), round \(round))")
        }
        #expect(valid > 1_000)
    }

    /// The hash under the key (0, 0) is SipHash-1-3's: the figures are
    /// CPython 3.11's `hash(bytes)` with `PYTHONHASHSEED=0` (SipHash-1-3,
    /// key zero), over bytes 0, 1, … and some names.
    @Test func hashIsSipHash13() {
        let ofCounting: [Int: UInt64] = [
            1: 7_541_581_120_933_061_747, 2: 75_343_234_424_780_393, 3: 5_569_996_484_167_262_381,
            4: 8_990_380_680_374_275_517, 5: 6_538_700_447_601_091_189, 6: 16_411_785_027_166_084_315,
            7: 3_389_392_686_435_873_370, 8: 16_921_169_381_604_339_434, 9: 8_471_974_163_824_919_394,
            10: 12_654_965_034_304_477_725, 11: 18_331_003_481_413_385_471, 12: 12_014_184_315_100_324_290,
            13: 11_587_535_417_075_797_517, 14: 9_189_037_121_149_337_191, 15: 17_514_137_373_579_004_394,
            16: 9_904_005_486_622_393_783, 17: 5_225_236_159_122_152_477, 64: 8_493_894_268_803_903_686,
        ]
        for (count, expected) in ofCounting {
            let bytes = (0..<count).map { UInt8($0) }
            #expect(UInt64(UInt(bitPattern: Self.scan(bytes, key: (0, 0)).hash)) == expected, "bytes 0..<\(count)")
        }
        let names: [(String, UInt64)] = [
            ("a", 4_644_417_185_603_328_019), ("orders:4711", 4_738_680_286_037_044_511),
            ("instr-lock-999", 2_135_829_145_833_234_258), ("A.b_c-d:e", 4_193_735_131_814_833_687),
            (String(repeating: "x", count: 255), 5_463_794_614_710_118_475),
        ]
        for (name, expected) in names {
            #expect(UInt64(UInt(bitPattern: Self.scan(Array(name.utf8), key: (0, 0)).hash)) == expected, "\(name)")
        }
    }

    /// The key matters: names hash apart under another key, and a
    /// process's key is not zero.
    @Test func hashDependsOnTheKey() {
        let bytes = Array("orders:4711".utf8)
        #expect(Self.scan(bytes, key: (0, 0)).hash != Self.scan(bytes, key: (1, 0)).hash)
        #expect(Self.scan(bytes, key: (0, 0)).hash != Self.scan(bytes, key: (0, 1)).hash)
        #expect(LockName.hashKey != (0, 0))
    }

    /// The process's key is `Hasher`'s, drawn under its per-process seed:
    /// two words a `Hasher` of this process gives for LockName's two
    /// constants (a key fixed in the source, or drawn otherwise, differs).
    @Test func theKeyFollowsHashersSeed() {
        func hasherWord(_ constant: UInt64) -> UInt64 {
            var hasher = Hasher()
            hasher.combine(constant)
            return UInt64(UInt(bitPattern: hasher.finalize()))
        }
        let key = LockName.hashKey
        #expect(key.0 == hasherWord(0x6C6F_636B_6E61_6D65))
        #expect(key.1 == hasherWord(0x6B65_7973_6563_6F6E))
        // The same words through `hashValue`, `Hasher` seeded the one way it is.
        #expect(key.0 == UInt64(UInt(bitPattern: (0x6C6F_636B_6E61_6D65 as UInt64).hashValue)))
        #expect(key.0 != key.1)
    }

    /// What a refused name is told, in the order it was told before.
    @Test func refusalsSayWhy() {
        func message(_ text: String) -> String? {
            do {
                _ = try LockName(text)
                return nil
            } catch {
                guard case .invalidRequest(let message) = error else { return "\(error)" }
                return message
            }
        }
        #expect(message("") == "lock name is empty")
        #expect(message(String(repeating: "x", count: 256)) == "lock name is 256 bytes; the limit is 255")
        #expect(message(String(repeating: "é", count: 200)) == "lock name is 400 bytes; the limit is 255")
        #expect(message(".") == "lock name cannot be '.' or '..'")
        #expect(message("..") == "lock name cannot be '.' or '..'")
        #expect(message("...") == nil)
        #expect(message(".a") == nil)
        for text in ["a b", "a/b", "é", "orders:4711/", "abcdefgh\u{7F}", "\u{0}"] {
            #expect(message(text) == "lock name may contain only A-Z a-z 0-9 . _ : -", "\(text)")
        }
    }
}
