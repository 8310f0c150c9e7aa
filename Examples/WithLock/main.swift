// A runnable tour of the Swift SDK. Start a lockd, then:
//
//     swift run lockd &
//     swift run lockd-client-example            # or LOCKD_URL=http://host:port swift run …
//
// It takes a lock with tryAcquire, shows what another client sees, runs a job
// under withLock while the lease is renewed in the background, and lists locks.
import Foundation
import LockdClient

let serverURL = URL(string: ProcessInfo.processInfo.environment["LOCKD_URL"] ?? "http://127.0.0.1:7070")
guard let serverURL else {
    print("LOCKD_URL is not a URL")
    exit(2)
}
let locks = LockClient(serverURL: serverURL, owner: "lockd-client-example")
let name = "example:report"

do {
    // Try once; nil means someone else holds it.
    guard let lease = try await locks.tryAcquire(name, ttl: .seconds(10)) else {
        print("\(name) is held by someone else; try again later")
        exit(1)
    }
    print("took \(lease.name) with fence \(lease.fence), expires at \(lease.expiresAt)")

    // A second client asking for the same lock gets nil at once …
    let other = LockClient(serverURL: serverURL, owner: "someone-else")
    let second = try await other.tryAcquire(name, ttl: .seconds(10))
    print("second client got the lock: \(second != nil)")
    // … and sees who holds it (never the token).
    let status = try await other.status(name)
    print("status: held=\(status.isHeld), owner=\(status.holders.first?.owner ?? "-")")
    try await lease.release()

    // withLock: renewed every ~1/3 of the TTL while the body runs, released after.
    let fence = try await locks.withLock(name, ttl: .seconds(1), wait: .seconds(5)) { lease in
        for step in 1...3 {
            try await Task.sleep(for: .milliseconds(700))  // longer than the TTL in total
            print("step \(step) under fence \(lease.fence); lost: \(lease.isLost)")
        }
        return lease.fence
    }
    print("job done under fence \(fence); lock released")

    for try await held in locks.list(prefix: "example:") {
        print("still held: \(held.name)")
    }
} catch let error as LockError {
    print("lockd said: \(error)")
    exit(1)
}
