import Testing

@testable import LockEngine

@Suite struct Base64URLTests {
    /// RFC 4648 §10's vectors (without padding), and the URL alphabet's two
    /// characters of its own.
    @Test(arguments: [
        ("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy"),
    ])
    func encodesTheStandardVectors(_ input: String, _ expected: String) {
        #expect(Array(input.utf8).withUnsafeBytes { Base64URL.encode($0) } == expected)
    }

    @Test func usesDashAndUnderscore() {
        #expect([UInt8]([0xFB, 0xFF, 0xBF]).withUnsafeBytes { Base64URL.encode($0) } == "-_-_")
    }
}
