// A runnable tour of the Swift SDK. Start a lockd, then:
//
//     swift run lockd &
//     swift run lockd-client-example            # or LOCKD_URL=http://host:port swift run …
//
// It runs a job under withLock while the lease renews itself, shows what a
// second client sees, takes a lease by hand and gives it back on every path,
// and lists what is held. No path through it leaves a lock behind.
import Foundation
import LockdClient

let serverURL = URL(string: ProcessInfo.processInfo.environment["LOCKD_URL"] ?? "http://127.0.0.1:7070")
guard let serverURL else {
    print("LOCKD_URL is not a URL")
    exit(2)
}
let locks = LockClient(serverURL: serverURL, owner: "lockd-client-example")
let other = LockClient(serverURL: serverURL, owner: "someone-else")
let name = "example:report"

/// Stands in for the protected resource: it would refuse a fence lower than the highest it has seen.
func write(_ step: Int, fence: Int64) async throws {
    try await Task.sleep(for: .milliseconds(700))
    print("  step \(step) written under fence \(fence)")
}

do {
    // withLock waits until the lock is granted (pass `wait:` to give up sooner),
    // renews the lease every ~TTL/3 while the body runs, releases it when the body
    // returns, throws or is cancelled, and cancels the body if the lease is lost.
    let fence = try await locks.withLock(name, ttl: .seconds(1)) { lease in
        // Meanwhile a second client is told at once that the lock is held…
        let second = try await other.tryAcquire(name)
        print("second client got the lock: \(second != nil)")
        // …and can see who holds it (never the token).
        let status = try await other.status(name)
        print("status: held=\(status.isHeld), owner=\(status.holders.first?.owner ?? "-")")

        for step in 1...3 {  // longer than the TTL in all
            try await write(step, fence: lease.fence)
        }
        return lease.fence
    }
    print("job done under fence \(fence); lock released")

    // By hand: the lease renews itself until released; release it on every path.
    guard let lease = try await locks.tryAcquire(name, ttl: .seconds(10)) else {
        print("\(name) is held by someone else; try again later")
        exit(1)
    }
    do {
        try await write(4, fence: lease.fence)
    } catch {
        try? await lease.release()
        throw error
    }
    try await lease.release()
    print("released by hand; reported lost: \(try await lease.waitUntilLost())")

    for try await held in locks.list(prefix: "example:") {
        print("still held: \(held.name)")
    }
} catch let error as LockError {
    print("lockd said: \(error)")
    exit(1)
}
