import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Temporary directories for the servers tests start (redis-server,
/// redis-sentinel, lockd), named after the test process that made them, so
/// that whatever that process could not remove — it was killed or crashed,
/// or exited with a shared fixture's servers running — a later test process
/// removes.
///
/// A name is `PREFIX-PID.START-UUID`: PREFIX starts with `lockd-`, PID and
/// START (its start time, in clock ticks since boot, from `/proc/PID/stat`)
/// name the owner. The first directory a process makes sweeps the temporary
/// directory of those whose owner is gone; a PID reused since by another
/// process does not pass for the owner, its start time differs.
///
/// ```swift
/// let directory = try ScratchDirectory.make("lockd-redis-\(port)")
/// defer { try? FileManager.default.removeItem(at: directory) }
/// ```
public enum ScratchDirectory {
    /// Makes a fresh directory `PREFIX-PID.START-UUID` in the temporary directory.
    /// - Parameter prefix: starts with `lockd-`, or the directory is never swept.
    public static func make(_ prefix: String) throws -> URL {
        _ = sweptOnce
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(ownerTag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Removes every scratch directory whose owner process is gone.
    /// - Returns: the names removed.
    @discardableResult
    public static func sweep() -> [String] {
        let temporary = FileManager.default.temporaryDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        return names.filter { name in
            guard name.hasPrefix("lockd-"), let owner = owner(of: name), !isRunning(owner) else { return false }
            return (try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))) != nil
        }
    }

    /// `PID.START` of this process.
    static let ownerTag = "\(getpid()).\(startTime(of: getpid()) ?? 0)"

    private static let sweptOnce: Void = { sweep() }()

    /// The owner a scratch directory's name gives, if it is one.
    static func owner(of name: String) -> (pid: pid_t, start: UInt64)? {
        // "-" + UUID (36 characters) at the end; the owner tag before it.
        guard name.utf8.count > 37, UUID(uuidString: String(name.suffix(36))) != nil else { return nil }
        let rest = name.dropLast(37)
        guard let dash = rest.lastIndex(of: "-") else { return nil }
        let tag = rest[rest.index(after: dash)...].split(separator: ".")
        guard tag.count == 2, let pid = pid_t(tag[0]), let start = UInt64(tag[1]) else { return nil }
        return (pid, start)
    }

    /// Whether the process `owner` names still runs (and is not a zombie).
    private static func isRunning(_ owner: (pid: pid_t, start: UInt64)) -> Bool {
        startTime(of: owner.pid) == owner.start
    }

    /// A live process's start time (`/proc/PID/stat`'s 22nd field); nil for
    /// a gone process or a zombie.
    static func startTime(of pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let nameEnd = stat.lastIndex(of: ")") else { return nil }
        // After the command's name: field 3 (the state) onwards.
        let fields = stat[stat.index(after: nameEnd)...].split(separator: " ")
        guard fields.count > 19, fields[0] != "Z" else { return nil }
        return UInt64(fields[19])
    }
}
