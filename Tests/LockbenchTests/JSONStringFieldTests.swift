import Testing

@testable import LockbenchCore

@Suite struct JSONStringFieldTests {
    private func token(_ json: String) -> String? {
        JSONStringField.value(of: "token", in: Array(json.utf8))
    }

    @Test func readsATopLevelStringMember() {
        let lease = #"{"name":"orders:1","token":"Zm9vYmFyYmF6cXV4MTIzNDU2","fence":17,"ttl_ms":30000,"expires_at":"2026-01-01T00:00:30.000Z"}"#
        #expect(token(lease) == "Zm9vYmFyYmF6cXV4MTIzNDU2")
        #expect(token(" {\n \"token\" : \"abc\" } ") == "abc")
    }

    @Test func ignoresTokenTextInsideOtherValues() {
        let json = #"{"owner":"\"token\":\"fake\"","holders":[{"token":"nested"}],"meta":{"token":"deep"},"token":"real"}"#
        #expect(token(json) == "real")
    }

    @Test func answersNilWhenThereIsNoUsableToken() {
        #expect(token(#"{"name":"a","fence":1}"#) == nil)
        #expect(token(#"{"token":17}"#) == nil)
        #expect(token(#"{"token":"a\"b"}"#) == nil)
        #expect(token(#"["token","abc"]"#) == nil)
        #expect(token(#"{"token":"abc"#) == nil)
        #expect(token(#"{"name":"a" "token":"abc"}"#) == nil)
        #expect(token("") == nil)
    }
}
