@testable import LockEngine
import LockdRedis
import RESP
import Testing

/// review19 (wip-redis32's name keys): a name's keys written from its bytes
/// read once (``RESPRepeatedBytes``, names of 4 to 32 bytes, one shared
/// liveness key) are the keys ``RedisLockStore/nameKeys(_:)`` makes, byte for
/// byte, for names of every length around the run's edges (4, 8, 16, 32) and
/// each byte of the name distinct from its neighbours, on both liveness-key
/// layouts; and they fit the room reserved for them.
@Suite struct Review19NameKeysTests {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")

    static func name(_ length: Int, shift: Int) -> String {
        String((0..<length).map { alphabet[($0 * 7 + shift) % alphabet.count] })
    }

    @Test(arguments: [RedisLivenessKeys.shared, .perSlot])
    func nameKeysOfEveryLengthAreTheMadeKeys(keys: RedisLivenessKeys) async throws {
        try await RedisArgumentLayoutTests().withStore(livenessKeys: keys) { store in
            for length in Array(1...48) + [63, 64, 65, 127, 128, 200, 254, 255] {
                for shift in 0..<3 {
                    let name = try LockName(Self.name(length, shift: shift))
                    let room = store.nameKeysRoom(name)
                    let written = RESPArgumentWriter.write(capacity: room) { store.writeNameKeys(name, to: &$0) }
                    let made = RESPArgumentWriter.write(capacity: 8192) { cursor in
                        for key in store.nameKeys(name) { cursor.append(key) }
                    }
                    #expect(written == made, "length \(length)")
                    #expect(written.bytes.count <= room)
                }
            }
        }
    }
}
