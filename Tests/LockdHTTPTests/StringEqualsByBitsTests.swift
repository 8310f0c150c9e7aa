import Testing

@testable import LockdHTTP

/// ``String/equalsByBits(_:)`` answers as `==` for every pair of strings,
/// whatever their form: small or large, ASCII or not, literal or built,
/// and canonically equivalent strings held apart.
@Suite struct StringEqualsByBitsTests {
    @Test func everyPairAnswersAsEquality() {
        let texts = ["", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "PURGE", "M-SEARCH",
                     "é", "e\u{301}", "caf\u{E9}", "cafe\u{301}", "123456789012345", "1234567890123456",
                     "a longer method-like token of some length", "\u{1F600}", "Å", "A\u{30A}", "\u{212B}"]
        var strings: [String] = []
        for text in texts {
            strings.append(text)
            // The same text built at run time: a large one's storage of its own.
            strings.append(String(decoding: Array(text.utf8), as: UTF8.self))
            var grown = String()
            grown.reserveCapacity(64)
            grown += text
            strings.append(grown)
            strings.append(String(text.reversed().reversed()))
        }
        strings += HTTPMethodsUnderTest.all.map(\.rawValue)
        for left in strings {
            for right in strings {
                #expect(left.equalsByBits(right) == (left == right), "\(Array(left.utf8)) against \(Array(right.utf8))")
            }
        }
    }

    @Test func theCommonMethodsAreSmallASCIIStrings() {
        // The bits that tell two of them apart without the standard library.
        for method in HTTPMethodsUnderTest.all {
            let tag = withUnsafeBytes(of: method.rawValue) { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) } >> 60
            #expect(tag == 0xE, "\(method)")
        }
    }
}

enum HTTPMethodsUnderTest {
    static let all: [HTTPMethod] = [.get, .head, .post, .put, .delete, .patch, .options]
}
