@testable import LockdAPI
import LockEngine
import Testing

/// A body's fields are each found in the slot the one pass over its members
/// filled, whatever their order and count.
@Suite struct RequestBodyTests {
    @Test func everyAcquireFieldIsReadFromItsSlotWhateverTheOrder() throws {
        // The eight fields sent in reverse slot order: the last member's index (7) is the map's largest.
        let body = try RequestBody<AcquireField>(Array(#"""
            {"lock_delay_ms":5,"durability":"replicated","mode":"shared","limit":1,
             "token":"tok","owner":"me","wait_ms":250,"ttl_ms":1500}
            """#.utf8))
        #expect(try body.integer(.ttlMs) == 1500)
        #expect(try body.integer(.waitMs) == 250)
        #expect(try body.string(.owner) == "me")
        #expect(try body.string(.token) == "tok")
        let (limit, mode) = try body.limitAndMode(limit: .limit, mode: .mode)
        #expect(limit == 1 && mode == .shared)
        #expect(try body.durability(.durability) == .replicated)
        #expect(try body.integer(.lockDelayMs) == 5)
    }

    @Test func absentFieldsAreNilAndABlankBodyIsEmpty() throws {
        let body = try RequestBody<AcquireField>(Array(#"{"owner":"me"}"#.utf8))
        #expect(try body.integer(.ttlMs) == nil)
        #expect(try body.string(.token) == nil)
        #expect(try body.string(.owner) == "me")
        let blank = try RequestBody<RenewField>(Array(" \r\n".utf8))
        #expect(try blank.integer(.ttlMs) == nil)
        #expect(try blank.durability(.durability) == nil)
    }

    @Test func aFieldOfAnotherBodyIsUnknown() {
        #expect(throws: LockError.invalidRequest("unknown field 'owner'; allowed fields: ttl_ms, durability")) {
            try RequestBody<RenewField>(Array(#"{"ttl_ms":1000,"owner":"me"}"#.utf8))
        }
    }
}
