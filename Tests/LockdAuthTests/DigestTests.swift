import LockdAuth
import Testing

@Suite struct DigestTests {
    @Test func hashesAsSHA256() throws {
        // FIPS 180-2's example.
        let digest = try #require(SHA256Digest(hashing: "abc"))
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest(hex: digest.hex) == digest)
        #expect(SHA256Digest(hex: digest.hex.uppercased()) == digest)
        #expect(SHA256Digest(hashing: "abd") != digest)
    }

    @Test(arguments: ["", "ba78", String(repeating: "g", count: 64), String(repeating: "a", count: 65)])
    func refusesWhatIsNotADigest(_ hex: String) {
        #expect(SHA256Digest(hex: hex) == nil)
    }

    @Test func neverPrintsItself() throws {
        let digest = try #require(SHA256Digest(hashing: "secret"))
        for text in ["\(digest)", String(reflecting: digest)] {
            #expect(!text.contains(digest.hex))
            #expect(!text.contains(String(digest.hex.prefix(16))))
        }
    }
}
