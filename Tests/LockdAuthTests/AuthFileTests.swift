import LockdAuth
import Testing

@Suite struct AuthFileTests {
    static func hex(_ secret: String) -> String { SHA256Digest(hashing: secret)?.hex ?? "" }

    static let file = """
        {"clients": [
          {"id": "billing-worker", "sha256": "\(hex("s-billing"))",
           "grants": [{"names": "billing:*", "actions": ["lock", "read"]}]},
          {"id": "auditor", "sha256": "\(hex("s-auditor"))",
           "grants": [{"names": ["orders", "billing:*"], "actions": ["read"]}, {"names": "*", "actions": ["admin"]}]}
        ]}
        """

    @Test func grantsWhatTheFileSays() throws {
        let policy = try AuthFile.parse(Array(Self.file.utf8), file: "auth.json")
        let billing = try #require(policy.client(presenting: "s-billing"))
        #expect(billing.id == "billing-worker")
        #expect(billing.may(.lock, on: "billing:7") && billing.may(.read, on: "billing:7"))
        #expect(!billing.may(.admin, on: "billing:7") && !billing.may(.lock, on: "billing") && !billing.may(.lock, on: "orders"))
        let auditor = try #require(policy.client(presenting: "s-auditor"))
        // Actions do not imply one another.
        #expect(auditor.may(.admin, on: "anything") && !auditor.may(.lock, on: "orders") && !auditor.may(.read, on: "anything"))
        #expect(auditor.names(for: .read).description == "billing:*, orders")
        #expect(policy.client(presenting: "s-unknown") == nil)
        #expect(policy.client(presenting: "") == nil)
        #expect(policy.client(presenting: Substring(String(repeating: "s", count: AccessPolicy.maxSecretLength + 1))) == nil)
        #expect(policy.client(id: "auditor") === auditor)
    }

    @Test func anEmptyListOfClientsIsAFile() throws {
        #expect(try AuthFile.parse(Array(#"{"clients": []}"#.utf8), file: "f").clients.isEmpty)
    }

    /// Each bad file is refused naming the file, the line and the field, and never repeating a sha256.
    @Test(arguments: [
        (#"{"clients": [}"#, "line 1, column 14: not valid JSON"),
        ("{\"clients\":\n [\n {\"id\": \"a\", \"sha256\": \"abc123\", \"grants\": []}]}", "line 3, clients[0].sha256: must be 64 hex digits"),
        ("{\"clients\": [{\"id\": \"a\",\n \"sha256\": \"H\",\n \"grants\": [{\"names\": \"x\", \"actions\": [\"write\"]}]}]}",
         "line 3, clients[0].grants[0].actions[0]: unknown action 'write'"),
        ("{\"clients\": [{\"id\": \"a\", \"sha256\": \"H\", \"grants\": [{\"names\": \"bil*ing\", \"actions\": [\"lock\"]}]}]}",
         "clients[0].grants[0].names: 'bil*ing' is not a name pattern"),
        ("{\"clients\": [{\"id\": \"a\", \"sha256\": \"H\", \"grants\": [{\"names\": [], \"actions\": [\"lock\"]}]}]}",
         "clients[0].grants[0].names: must be a name pattern"),
        ("{\"clients\": [{\"id\": \"a\", \"sha256\": \"H\", \"grants\": [{\"names\": \"x\", \"actions\": []}]}]}",
         "clients[0].grants[0].actions: must be a non-empty array"),
        ("{\"clients\": [{\"id\": \"a b\", \"sha256\": \"H\", \"grants\": []}]}", "clients[0].id: must be 1 to 128 characters"),
        ("{\"clients\": [{\"id\": \"a\", \"sha256\": \"H\", \"grants\": [], \"secret\": \"x\"}]}", "clients[0].secret: unknown field"),
        ("{\"clients\": [{\"id\": \"a\", \"grants\": []}]}", "clients[0]: has no 'sha256'"),
        ("{\"clients\": [{\"id\": \"a\", \"sha256\": \"H\", \"grants\": []},\n {\"id\": \"a\", \"sha256\": \"G\", \"grants\": []}]}",
         "line 2, clients[1].id: 'a' is the id of clients[0] too"),
        ("{\"clients\": [{\"id\": \"a\", \"sha256\": \"H\", \"grants\": []}, {\"id\": \"b\", \"sha256\": \"H\", \"grants\": []}]}",
         "clients[1].sha256: is the same as clients[0]'s"),
        (#"{"clients": {}}"#, "clients: must be an array"),
        (#"[]"#, "the top level: must be an object"),
    ])
    func refusesABadFile(_ template: String, _ expected: String) {
        let text = template.split(separator: "\"H\"", omittingEmptySubsequences: false).joined(separator: "\"\(Self.hex("h"))\"")
            .split(separator: "\"G\"", omittingEmptySubsequences: false).joined(separator: "\"\(Self.hex("g"))\"")
        let error = #expect(throws: AuthError.self) { try AuthFile.parse(Array(text.utf8), file: "/etc/lockd/auth.json") }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("auth file /etc/lockd/auth.json: "))
        #expect(message.contains(expected), "\(message)")
        #expect(!message.contains(Self.hex("h")) && !message.contains("abc123"))
    }

    @Test func aMissingFileIsNamed() {
        let error = #expect(throws: AuthError.self) { try AuthFile.load(path: "/nonexistent/auth.json") }
        #expect(error?.message == "auth file /nonexistent/auth.json: cannot read it: No such file or directory")
    }
}
