import LockdTestSupport
import Logging
import Testing

@testable import LockdHTTP

/// A pattern with parameters matches by walking its template (the pattern
/// in one array, a marker byte for each parameter) beside the path once,
/// noting where the parameters' segments are, and binds them from there.
/// That must agree with the segment rule it stands in for
/// (``PathPattern/matchesBySegment(_:)``, then ``PathPattern/parameters(of:)``
/// walking the path again), on every path: empty, doubled and trailing
/// slashes, escapes good and bad, bytes that are not UTF-8 once decoded,
/// segments one byte longer or shorter than the literals.
@Suite struct PathPatternTemplateDifferentialTests {
    private static let patterns = [
        "/locks/{name}", "/locks/{name}/renew", "/locks//holders/{fence}", "/locks/{name}/holders/{fence}", "/{a}", "/{a}/{b}/{c}",
        "/x/{a}/", "/{a}//{b}", "/locks", "/locks/", "/", "/healthz", "a/{b}", "/{a}/b/{c}/d",
    ]

    static func expectAgreement(_ pattern: PathPattern, _ path: [UInt8], _ source: String) {
        path.withUnsafeBufferPointer { bytes in
            var ranges = PathPattern.ParameterRanges()
            let matched = pattern.match(bytes, ranges: &ranges)
            let expected = pattern.matchesBySegment(bytes)
            #expect(matched == expected, "\(source) on \(String(decoding: path, as: UTF8.self))")
            guard matched, expected else { return }
            switch (pattern.parameters(of: bytes, ranges: ranges), pattern.parameters(of: bytes)) {
            case (.success(let new), .success(let old)):
                #expect(new == old, "\(source) on \(String(decoding: path, as: UTF8.self))")
            case (.failure(let new), .failure(let old)):
                #expect(new.name == old.name, "\(source) on \(String(decoding: path, as: UTF8.self))")
            default:
                Issue.record("\(source) on \(String(decoding: path, as: UTF8.self)): one bound, the other refused")
            }
        }
    }

    @Test func theTemplateWalkAgreesWithTheSegmentRule() {
        var random = SplitMix64(seed: 0x7E4A)
        let alphabet = Array("/ab%2F{}.".utf8) + [UInt8(ascii: "%"), UInt8(ascii: "C"), UInt8(ascii: "3"), UInt8(ascii: "f"), UInt8(ascii: "g")]
        for source in Self.patterns {
            let pattern = PathPattern(source)
            var paths: [[UInt8]] = [[], [UInt8(ascii: "/")]]
            // The pattern with each parameter filled in many ways, and one byte more or less.
            let fills = ["a", "ab", "%41", "%2F", "%2f", "%", "%4", "%zz", "%C3%A9", "%C3", "%FF", "locks", "renew", "holders", "7", "{name}"]
            for _ in 0..<300 {
                var path = ""
                for part in source.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
                    path += "/" + (part.hasPrefix("{") ? fills[Int(random.next() % UInt64(fills.count))] : String(part))
                }
                let bytes = Array(path.utf8)
                paths += [bytes, bytes + [UInt8(ascii: "/")], Array(bytes.dropLast()), bytes + [UInt8(ascii: "a")], [UInt8(ascii: "/")] + bytes]
            }
            // Random paths over a small alphabet.
            for _ in 0..<2_000 {
                paths.append((0..<Int(1 + random.next() % 20)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] })
            }
            for path in paths { Self.expectAgreement(pattern, path, source) }
        }
    }

    /// The router binds what the pattern's segments hold, through the walk.
    @Test func theRouterBindsParametersFromTheWalk() async {
        var router = Router()
        router.add(.get, "/locks/{name}/holders/{fence}", name: "holder") { _, context in
            HTTPResponse(status: .ok, body: Array("\(context.parameters["name"] ?? "-")|\(context.parameters["fence"] ?? "-")".utf8))
        }
        router.add(.post, "/locks/{name}", name: "acquire") { _, context in
            .now(HTTPResponse(status: .ok, body: Array((context.parameters["name"] ?? "-").utf8)))
        }
        let context = HTTPRequestContext(eventLoop: RouterTests.loop, logger: Logger(label: "test"))
        let holder = await router.respond(to: HTTPRequest(method: .get, path: "/locks/a%2Fb/holders/42"), context: context)
        #expect(String(decoding: holder.body, as: UTF8.self) == "a/b|42" && holder.route == "holder")
        let acquire = await router.respond(to: HTTPRequest(method: .post, path: "/locks/%C3%A9t%C3%A9"), context: context)
        #expect(String(decoding: acquire.body, as: UTF8.self) == "été" && acquire.route == "acquire")
        let bad = await router.respond(to: HTTPRequest(method: .post, path: "/locks/%C3"), context: context)
        #expect(bad.status == .badRequest && bad.route == "acquire")
    }
}
