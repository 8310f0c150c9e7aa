import LockdTestSupport
import Testing

@testable import LockdHTTPCompression

@Suite("The gzip compressor against zlib's inflate and the system's gzip")
struct GzipCompressorTests {
    /// Inputs of the kinds lockd compresses and the kinds it should survive.
    enum Content: CaseIterable {
        case randomBytes, repeatedPattern, jsonLike, runs
    }

    static func input(_ content: Content, count: Int, _ random: inout SplitMix64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        switch content {
        case .randomBytes:
            while bytes.count < count {
                withUnsafeBytes(of: random.next()) { bytes.append(contentsOf: $0.prefix(count - bytes.count)) }
            }
        case .repeatedPattern:
            let pattern = (0..<Int.random(in: 1...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            while bytes.count < count { bytes.append(contentsOf: pattern.prefix(count - bytes.count)) }
        case .jsonLike:
            let words = ["{\"name\":\"orders:", "\",\"held\":true,", "\"holders\":[{\"fence\":", "\"ttl_ms\":", "}]}", ",", "4711"]
            while bytes.count < count {
                let word = random.next() % 3 == 0 ? String(random.next() % 100_000) : words[Int(random.next() % UInt64(words.count))]
                bytes.append(contentsOf: word.utf8.prefix(count - bytes.count))
            }
        case .runs:
            while bytes.count < count {
                let byte = UInt8(truncatingIfNeeded: random.next())
                bytes.append(contentsOf: repeatElement(byte, count: min(Int(random.next() % 5000), count - bytes.count)))
            }
        }
        return bytes
    }

    @Test("random inputs of 0 B to 1 MiB come back byte for byte from zlib's inflate")
    func roundTripsThroughInflate() throws {
        var random = SplitMix64(seed: 0x6219)
        // The edges: empty, the 1 KiB threshold, each window size's bound, 1 MiB.
        var sizes = [0, 1, 2, 1023, 1024, 1025, 16121, 16122, 16123, 32505, 32506, 65536, 1 << 20]
        // And 40 sizes spread evenly over the orders of magnitude up to 1 MiB.
        sizes += (0..<40).map { _ in
            let power = Int.random(in: 0...19, using: &random)
            return (1 << power) + Int.random(in: 0..<(1 << power), using: &random)
        }
        let compressor = GzipCompressor()
        for (index, size) in sizes.enumerated() {
            let content = Content.allCases[index % Content.allCases.count]
            let input = Self.input(content, count: size, &random)
            let gzip = try #require(compressor.compress(input), "size \(size), \(content)")
            #expect(try Gunzip.inflate(gzip) == input, "size \(size), \(content)")
            if content != .randomBytes, size > 4096 {
                #expect(gzip.count < size / 2, "size \(size), \(content): \(gzip.count) bytes compressed")
            }
        }
    }

    @Test("every level makes valid gzip; higher levels are no larger on text")
    func everyLevel() throws {
        var random = SplitMix64(seed: 9)
        let input = Self.input(.jsonLike, count: 200_000, &random)
        var sizes: [Int] = []
        for level in Int32(1)...9 {
            let gzip = try #require(GzipCompressor(level: level).compress(input))
            #expect(try Gunzip.inflate(gzip) == input, "level \(level)")
            sizes.append(gzip.count)
        }
        #expect(sizes[8] <= sizes[0])
        #expect(GzipCompressor(level: 0).level == 1)
        #expect(GzipCompressor(level: 12).level == 9)
    }

    @Test("the system's gzip -d reads what the compressor writes")
    func systemGunzipReadsIt() async throws {
        var random = SplitMix64(seed: 17)
        var input = Self.input(.jsonLike, count: 150_000, &random)
        input += Self.input(.randomBytes, count: 20_000, &random)
        input += Self.input(.runs, count: 100_000, &random)
        let gzip = try #require(GzipCompressor().compress(input))
        #expect(try await Gunzip.systemGunzip(gzip) == input)
    }

    @Test("the window shrinks with the input and never below zlib's minimum")
    func windowSizing() {
        #expect(GzipCompressor.windowAndMemory(for: 0) == (9, 2))
        #expect(GzipCompressor.windowAndMemory(for: 9_000) == (14, 7))
        #expect(GzipCompressor.windowAndMemory(for: 16_122) == (15, 8))
        #expect(GzipCompressor.windowAndMemory(for: 16_121) == (14, 7))
        #expect(GzipCompressor.windowAndMemory(for: 10 << 20) == (15, 8))
    }
}
