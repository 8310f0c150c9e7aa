import LockdAuth
import Testing

@Suite struct NewClientTests {
    @Test func theEntryAuthenticatesItsSecret() throws {
        let made = try NewClient(id: "billing-worker", grants: ["lock=billing:*", "read=billing:*", "read,admin=orders"])
        #expect(made.secret.utf8.count == 43)
        #expect(!made.entry.contains(made.secret))
        let policy = try AuthFile.parse(Array(#"{"clients": [\#(made.entry)]}"#.utf8), file: "f")
        let client = try #require(policy.client(presenting: Substring(made.secret)))
        #expect(client.id == "billing-worker")
        #expect(client.grants.count == 2)
        #expect(client.may(.lock, on: "billing:1") && client.may(.read, on: "billing:1") && !client.may(.admin, on: "billing:1"))
        #expect(client.may(.admin, on: "orders") && client.may(.read, on: "orders") && !client.may(.lock, on: "orders"))
    }

    @Test func secretsAreFreshAndURLSafe() throws {
        var secrets = Set<String>()
        for _ in 0..<200 {
            let secret = try NewClient(id: "a", grants: ["read=*"]).secret
            #expect(secret.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || ($0 < 128 && Character(Unicode.Scalar($0)).isLetter) || ($0 >= 48 && $0 <= 57) })
            secrets.insert(secret)
        }
        #expect(secrets.count == 200)
    }

    @Test(arguments: [
        ("a b", ["lock=x"], "the id 'a b' must be"), ("a", [], "give at least one --grant"),
        ("a", ["lock"], "must be ACTIONS=PATTERN"), ("a", ["write=x"], "unknown action 'write'"),
        ("a", ["lock,=x"], "unknown action ''"), ("a", ["lock=bil*ing"], "'bil*ing' is not a name pattern"),
    ])
    func refusesBadArguments(_ id: String, _ grants: [String], _ expected: String) {
        let error = #expect(throws: AuthError.self) { try NewClient(id: id, grants: grants) }
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
    }
}
