import Foundation
import Testing

@Suite("The generated client")
struct GeneratedClientTests {
    /// FNV-1a (64-bit) of the `openapi.yaml` that `Sources/LockdClient/GeneratedSources`
    /// was generated from. The generated code is committed (a build plugin would
    /// make `swift run lockd` build the generator too), so this catches a spec
    /// change without a regeneration.
    static let generatedFrom: UInt64 = 0x4346_1534_4991_7afa

    @Test("was generated from the current openapi.yaml")
    func matchesSpec() throws {
        let spec = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("openapi.yaml")
        let digest = try Data(contentsOf: spec).reduce(0xcbf2_9ce4_8422_2325 as UInt64) { hash, byte in
            (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        #expect(
            digest == Self.generatedFrom,
            """
            openapi.yaml changed since the client was generated. Regenerate it:
              swift run swift-openapi-generator generate openapi.yaml \\
                --config Sources/LockdClient/openapi-generator-config.yaml \\
                --output-directory Sources/LockdClient/GeneratedSources
            then set GeneratedClientTests.generatedFrom to 0x\(String(digest, radix: 16)).
            """
        )
    }
}
