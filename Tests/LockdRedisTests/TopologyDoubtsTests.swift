import Foundation
import Synchronization
import Testing

@testable import LockdRedis

/// Signs of a topology change reach the monitor however many there are.
@Suite struct TopologyDoubtsTests {
    /// Every connection loss raises a doubt, for as long as lockd runs. A
    /// listener whose call grew with each raise (reabstraction thunks piling
    /// up in the `Mutex`) would overflow this thread's small stack long
    /// before the count is reached.
    @Test func raisingManyTimesCostsTheSameEachTime() async {
        let doubts = TopologyDoubts()
        let heard = Atomic<Int>(0)
        doubts.listen { heard.add(1, ordering: .relaxed) }
        let raises = 20_000
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                for _ in 0..<raises { doubts.raise() }
                done.resume()
            }
            thread.stackSize = 128 << 10
            thread.start()
        }
        #expect(heard.load(ordering: .relaxed) == raises)
    }
}
