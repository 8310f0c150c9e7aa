import Testing

@testable import LockdHTTP

/// A pattern without parameters matches by comparing the whole path with
/// its bytes; that must agree with the segment-by-segment rule it stands in
/// for, on every path — including empty segments, trailing and doubled
/// slashes, and paths one byte longer or shorter.
@Suite struct PathPatternExactDifferentialTests {
    private static let patterns = [
        "/", "/healthz", "/readyz", "/locks", "/locks/", "/locks//renew", "//", "/a/b/c", "/a//", "/openapi.yaml",
        "/%41", "/{", "/{}", "/x}", "", "healthz", "a/b", "/locks/{name}", "/locks/{name}/renew",
    ]

    @Test func theWholePathComparisonAgreesWithTheSegmentRule() {
        let alphabet = Array("/ab%{}.".utf8)
        var paths: [[UInt8]] = [[]]
        for pattern in Self.patterns {
            let bytes = Array(pattern.utf8)
            paths += [bytes, bytes + [UInt8(ascii: "/")], Array(bytes.dropLast()), [UInt8(ascii: "/")] + bytes, bytes + [UInt8(ascii: "a")]]
        }
        // Every path up to four bytes over a small alphabet, then random longer ones.
        var frontier: [[UInt8]] = [[]]
        for _ in 0..<4 {
            frontier = frontier.flatMap { path in alphabet.map { path + [$0] } }
            paths += frontier
        }
        for _ in 0..<5_000 { paths.append((0..<Int.random(in: 5...16)).map { _ in alphabet.randomElement()! }) }
        for pattern in Self.patterns.map(PathPattern.init) {
            for path in paths {
                path.withUnsafeBufferPointer { bytes in
                    #expect(pattern.matches(bytes) == pattern.matchesBySegment(bytes), "\(pattern.segments) on \(String(decoding: path, as: UTF8.self))")
                }
            }
        }
    }
}
