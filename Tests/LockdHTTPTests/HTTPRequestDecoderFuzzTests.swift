import LockdTestSupport
import Testing

@testable import LockdHTTP

/// A bounded random-input test of the decoder: mutated requests and random
/// bytes, cut at random points. It must never crash or loop, must hold no
/// more than its limits allow, and must decode the same whatever the cuts.
@Suite struct HTTPRequestDecoderFuzzTests {
    static let seeds = [
        HTTPRequestDecoderTests.getRequest,
        HTTPRequestDecoderTests.postRequest,
        HTTPRequestDecoderTests.chunkedRequest,
        HTTPRequestDecoderTests.pipelined,
        "POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    ].map { Array($0.utf8) }

    static let interesting: [[UInt8]] = ["\r\n", "\r", "\n", ":", " ", "\t", "\u{0}", "0", "9", "f", ";", "chunked", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n", "HTTP/1.1", "%", "\u{FF}"].map { Array($0.utf8) }

    @Test func randomInputNeverCrashesAndDecodesTheSameWhereverCut() {
        var random = SplitMix64(seed: 0x10CD)
        let limits = HTTPRequestLimits(maxRequestLineLength: 256, maxHeaderSectionLength: 512, maxHeaderCount: 8, maxBodyLength: 128)
        for iteration in 0..<20_000 {
            let input = iteration % 10 == 0 ? randomBytes(&random) : mutate(Self.seeds[Int(random.next() % UInt64(Self.seeds.count))], &random)
            let whole = DecodingHarness.decode(input, limits: limits)
            let cuts = (0..<Int(random.next() % 6)).map { _ in Int(random.next() % UInt64(input.count + 1)) }.sorted()
            var harness = DecodingHarness(limits: limits)
            var start = 0
            for cut in cuts + [input.count] where cut >= start {
                harness.feed(input[start..<cut])
                start = cut
            }
            let pieces = harness.events.filter { $0 != .continueExpected }
            guard pieces == whole else {
                Issue.record("cuts \(cuts) changed the outcome of \(input): \(pieces) vs \(whole)")
                return
            }
            // Unconsumed input never exceeds one head plus what one read delivers.
            let bound = limits.maxRequestLineLength + limits.maxHeaderSectionLength + limits.maxChunkLineLength + input.count
            #expect(harness.maxPending <= bound)
        }
    }

    private func mutate(_ seed: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        for _ in 0..<(1 + Int(random.next() % 4)) {
            let position = Int(random.next() % UInt64(bytes.count + 1))
            switch random.next() % 5 {
            case 0 where position < bytes.count: bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 1 where position < bytes.count: bytes.remove(at: position)
            case 2: bytes.insert(contentsOf: Self.interesting[Int(random.next() % UInt64(Self.interesting.count))], at: position)
            case 3 where position < bytes.count: bytes.insert(contentsOf: bytes[position...].prefix(40), at: position)
            default: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            }
        }
        return bytes
    }

    private func randomBytes(_ random: inout SplitMix64) -> [UInt8] {
        (0..<Int(random.next() % 600)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }
}
