/// Which lock names each client cycles through.
///
/// With at least as many names as clients the run is uncontended: client `c`
/// owns the names `n` with `n % clients == c`, so no two clients ever ask for
/// the same lock (the same split etcd's anchor script makes). With fewer
/// names than clients every client draws from all of them and acquires queue
/// up (contended).
///
/// ```swift
/// let plan = try NamePlan(base: "lockbench", runID: "1f2e3d4c", names: 4, clients: 64)
/// plan.isContended          // true
/// plan.name(at: 2)          // "lockbench:1f2e3d4c:2"
/// ```
public struct NamePlan: Sendable, Equatable {
    /// What every name of the run starts with, such as `lockbench:1f2e3d4c:`.
    public let prefix: String
    /// How many distinct names the run uses.
    public let count: Int
    /// How many clients share them.
    public let clients: Int

    /// Builds a plan; names are `BASE:RUNID:INDEX`, so runs never collide.
    /// - Throws: ``BenchConfigError`` when `base` has characters a lock name
    ///   cannot hold, or the counts are not positive.
    public init(base: String, runID: String, names: Int, clients: Int) throws(BenchConfigError) {
        guard clients > 0 else { throw BenchConfigError("--clients must be at least 1") }
        guard names > 0 else { throw BenchConfigError("--names must be at least 1") }
        guard base.utf8.allSatisfy(Self.isNameByte), !base.isEmpty, base.utf8.count <= 200 else {
            throw BenchConfigError("--prefix must be 1–200 characters of [A-Za-z0-9._:-]: \(base)")
        }
        prefix = "\(base):\(runID):"
        count = names
        self.clients = clients
    }

    /// True when clients share names and so wait for each other.
    public var isContended: Bool { count < clients }

    /// Whether `byte` may appear in a lock name: `[A-Za-z0-9._:-]`.
    public static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: ":"), UInt8(ascii: "-"): true
        default: false
        }
    }

    /// The lock name with index `index`.
    public func name(at index: Int) -> String { prefix + String(index) }

    /// The name indices client `client` may use: its own share when
    /// uncontended, every name when contended.
    public func indices(forClient client: Int) -> [Int] {
        isContended ? Array(0..<count) : Array(stride(from: client, to: count, by: clients))
    }
}
