import LockdTestSupport
import Testing

@testable import LockdHTTP

/// wip-http32: the sixteen-lane byte classes (``HTTPSyntax/notLetterOrHyphen(lanes:)``,
/// ``HTTPSyntax/controlBytes(lanes:)``)
/// flag exactly the bytes their byte-by-byte definitions do, every byte
/// value in every lane beside any other; and ``HTTPSyntax/leadingRun(of:from:stoppingAt:inWords:)``
/// passes exactly the bytes a byte loop passes, from any start, in buffers
/// of every length around 8, 16 and 32.
@Suite struct HTTPSyntaxLanesTests {
    private static func letterOrHyphen(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A && byte < 0x80) || byte == 0x2D
    }

    private static func flags(_ bytes: [UInt8], _ keeps: (UInt8) -> Bool) -> [UInt8] {
        bytes.map { keeps($0) ? 0 : 0x80 }
    }

    private static func lanes(_ bytes: [UInt8]) -> SIMD16<UInt8> {
        bytes.withUnsafeBytes { $0.loadUnaligned(as: SIMD16<UInt8>.self) }
    }

    private static func array(_ lanes: SIMD16<UInt8>) -> [UInt8] {
        (0..<16).map { lanes[$0] }
    }

    @Test func everyByteInEveryLaneBesideEveryOther() {
        var mismatches = 0
        for byte in UInt8.min...UInt8.max {
            for other in UInt8.min...UInt8.max {
                for lane in [0, 15] {
                    var bytes = [UInt8](repeating: other, count: 16)
                    bytes[lane] = byte
                    let vector = Self.lanes(bytes)
                    if Self.array(HTTPSyntax.notLetterOrHyphen(lanes: vector)) != Self.flags(bytes, Self.letterOrHyphen) { mismatches += 1 }
                    if Self.array(HTTPSyntax.controlBytes(lanes: vector)) != Self.flags(bytes, { !HTTPSyntax.isControl($0) }) { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func randomVectorsAreFlaggedByteByByte() {
        var random = SplitMix64(seed: 0x1A4E5)
        var mismatches = 0
        for _ in 0..<100_000 {
            let bytes = HTTPSyntaxWordReviewTests.randomWord(&random) + HTTPSyntaxWordReviewTests.randomWord(&random)
            let vector = Self.lanes(bytes)
            if Self.array(HTTPSyntax.notLetterOrHyphen(lanes: vector)) != Self.flags(bytes, Self.letterOrHyphen) { mismatches += 1 }
            if Self.array(HTTPSyntax.controlBytes(lanes: vector)) != Self.flags(bytes, { !HTTPSyntax.isControl($0) }) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func leadingRunsPassWhatAByteLoopPasses() {
        var random = SplitMix64(seed: 0x2E1A)
        var mismatches: [String] = []
        var compared = 0
        for length in 0...48 {
            for _ in 0..<400 {
                // Mostly kept bytes, one stop byte or none, anywhere.
                let fill = [UInt8(ascii: "a"), UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "k")]
                var bytes = (0..<length).map { _ in fill[Int(random.next() % 4)] }
                if length > 0, random.next() % 4 != 0 {
                    bytes[Int(random.next() % UInt64(length))] = HTTPSyntaxWordReviewTests.mix[Int(random.next() % UInt64(HTTPSyntaxWordReviewTests.mix.count))]
                }
                let start = length == 0 ? 0 : Int(random.next() % UInt64(length + 1))
                let cases: [(String, (UInt8) -> Bool, Int)] = bytes.withUnsafeBytes { buffer in [
                    ("name", Self.letterOrHyphen,
                     HTTPSyntax.leadingRun(of: buffer, from: start, stoppingAt: HTTPSyntax.notLetterOrHyphen(lanes:), inWords: HTTPSyntax.notLetterOrHyphen)),
                    ("control", { !HTTPSyntax.isControl($0) },
                     HTTPSyntax.leadingRun(of: buffer, from: start, stoppingAt: HTTPSyntax.controlBytes(lanes:), inWords: HTTPRequestDecoder.controlBytes)),
                ] }
                for (name, keeps, run) in cases {
                    compared += 1
                    var end = start
                    while end < bytes.count, keeps(bytes[end]) { end += 1 }
                    // Every byte passed is kept; the scan stops at the stop
                    // byte, or leaves fewer than eight bytes to the caller.
                    let passedOnlyKept = run >= start && run <= end
                    let stoppedWhereItMust = run == end || (bytes.count - run < 8)
                    if !(passedOnlyKept && stoppedWhereItMust) {
                        mismatches.append("\(name) \(bytes) from \(start): \(run), run to \(end)")
                    }
                }
            }
        }
        #expect(compared > 35_000)
        #expect(mismatches.isEmpty, "\(mismatches.count): \(mismatches.prefix(5))")
    }
}
