@testable import LockEngine

/// A lease in the lease-table model tests (`Review15LeaseTableModelTests`,
/// `Review17LeaseTableBurstModelTests`): its name's number and its token's.
struct LeaseTableModelKey: Hashable {
    let name: Int
    let token: Int

    /// The token numbered `number`, in a form of the test's own (`prefix`,
    /// `filler`): distinct numbers give distinct, valid tokens.
    static func token(_ number: Int, prefix: String, filler: Character) throws -> LeaseToken {
        try LeaseToken("\(prefix)-\(String(number, radix: 16))-" + String(repeating: filler, count: 16))
    }
}
