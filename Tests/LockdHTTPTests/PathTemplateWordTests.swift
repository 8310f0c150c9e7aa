import LockdTestSupport
import Testing

@testable import LockdHTTP

/// The template walk compares literal runs and finds a parameter's end
/// eight bytes at a time where the path and the template have eight left
/// (``PathPattern/match(_:template:ranges:)``): with literals and
/// parameters longer than a word, a `/` or a differing byte at every
/// position of a word and across word ends, it must agree with the segment
/// rule exactly as the byte walk did, and find the same segments.
@Suite struct PathTemplateWordTests {
    private static let patterns = [
        "/locks/{name}", "/locks/{name}/renew", "/locks/{name}/holders/{fence}", "/semaphores-and-more/{name}",
        "/{a}", "/{a}/{b}", "/abcdefghijklmnop/{a}/qrstuvwxyz0123", "/x/{a}/", "/{a}//{b}", "/locks//holders/{fence}",
        "/0123456/{a}", "/01234567/{a}", "/012345678/{a}/{b}/9",
    ]

    @Test func theWordWalkAgreesWithTheSegmentRuleOnLongPaths() {
        var random = SplitMix64(seed: 0x5A7E)
        let alphabet = Array("abcxyz-_.~0159%/".utf8)
        var compared = 0
        for source in Self.patterns {
            let pattern = PathPattern(source)
            var paths: [[UInt8]] = []
            for _ in 0..<400 {
                var path = ""
                for part in source.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
                    guard part.hasPrefix("{") else {
                        path += "/" + part
                        continue
                    }
                    // A parameter of 1–40 bytes, a slash in it now and then.
                    let length = 1 + Int(random.next() % 40)
                    path += "/" + String(decoding: (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }, as: UTF8.self)
                }
                var bytes = Array(path.utf8)
                paths.append(bytes)
                // One byte changed, dropped or added at a random place.
                guard !bytes.isEmpty else { continue }
                let at = Int(random.next() % UInt64(bytes.count))
                var changed = bytes
                changed[at] = changed[at] == UInt8(ascii: "/") ? UInt8(ascii: "q") : (random.next() % 2 == 0 ? UInt8(ascii: "/") : changed[at] ^ 0x01)
                paths.append(changed)
                bytes.remove(at: at)
                paths.append(bytes)
                paths.append(Array(path.utf8) + [UInt8(ascii: random.next() % 2 == 0 ? "/" : "z")])
            }
            for path in paths {
                PathPatternTemplateDifferentialTests.expectAgreement(pattern, path, source)
                compared += 1
            }
        }
        #expect(compared > 10_000)
    }

    @Test func aParameterEndsAtItsFirstSlashWhereverItFalls() {
        // Every split of a 30-byte path after a fixed literal: the parameter ends at the slash.
        let pattern = PathPattern("/locks/{name}/renew")
        for slash in 8..<30 {
            var path = Array("/locks/".utf8) + Array(repeating: UInt8(ascii: "n"), count: 30)
            path[slash] = UInt8(ascii: "/")
            let matches = Array(path[(slash + 1)...]) == Array("renew".utf8)
            path.withUnsafeBufferPointer { bytes in
                var ranges = PathPattern.ParameterRanges()
                let matched = pattern.match(bytes, ranges: &ranges)
                #expect(matched == matches, "slash at \(slash)")
                #expect(matched == pattern.matchesBySegment(bytes), "slash at \(slash)")
            }
            var renewed = Array(path[..<slash]) + Array("/renew".utf8)
            renewed.withUnsafeMutableBufferPointer { bytes in
                var ranges = PathPattern.ParameterRanges()
                #expect(pattern.match(UnsafeBufferPointer(bytes), ranges: &ranges), "slash at \(slash)")
                #expect(ranges.count == 1 && ranges.first == 7..<slash, "slash at \(slash): \(ranges.first)")
            }
        }
    }
}
