import LockdTestSupport
import Foundation
import LockdClient
import OpenAPIRuntime
import Testing

@Suite("The generated client")
struct GeneratedClientTests {
    /// FNV-1a (64-bit) of the `openapi.yaml` that `Sources/LockdClient/GeneratedSources`
    /// was generated from. The generated code is committed (a build plugin would
    /// make `swift run lockd` build the generator too), so this catches a spec
    /// change without a regeneration.
    static let generatedFrom: UInt64 = 0x1166_3c17_f5da_cf26

    /// The top-level `openapi.yaml`.
    static let spec = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("openapi.yaml")

    @Test("was generated from the current openapi.yaml")
    func matchesSpec() throws {
        let digest = try Data(contentsOf: Self.spec).reduce(0xcbf2_9ce4_8422_2325 as UInt64) { hash, byte in
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

    @Test("lockd serves the very openapi.yaml the client was generated from; health routes answer")
    func lockdServesTheSpec() async throws {
        try await StoreKind.memory.withLockd { lockd async throws in
            let client = lockd.generated
            guard case .ok(let document) = try await client.getOpenAPIDocument() else {
                throw TestFailure("GET /openapi.yaml did not answer 200")
            }
            let served = try await Data(collecting: try document.body.yaml, upTo: 1 << 20)
            #expect(served == (try Data(contentsOf: Self.spec)))

            guard case .ok(let health) = try await client.getHealth() else { throw TestFailure("GET /healthz") }
            #expect(try health.body.json.status == .ok)
            guard case .ok(let readiness) = try await client.getReadiness() else { throw TestFailure("GET /readyz") }
            #expect(try readiness.body.json.status == .ready)
            #expect(try readiness.body.json.store == .memory)
        }
    }
}
