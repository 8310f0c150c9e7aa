@testable import lockd
import Testing

/// Lease tokens and bearer secrets are base64url, so one in 64 starts with
/// `-`: the client subcommands must take it as the option's value, not as
/// another option.
@Suite struct TokenArgumentTests {
    @Test(arguments: ["-XP3abcdefghijklmnopqrstuv", "--looks-like-a-flag", "plain_token-123"])
    func aTokenStartingWithADashIsTheOptionsValue(token: String) throws {
        let renew = try RenewCommand.parse(["orders", "--lock-token", token, "--ttl", "1m"])
        #expect(renew.lockToken == token)
        let release = try ReleaseCommand.parse(["orders", "--lock-token", token])
        #expect(release.lockToken == token)
        let status = try StatusCommand.parse(["orders", "--auth-token", token])
        #expect(status.client.authToken == token)
    }
}
