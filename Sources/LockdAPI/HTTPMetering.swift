import CoreMetrics
import LockdHTTP
import Synchronization

/// Counts and times every response the server writes — routed answers, 404,
/// 405 and the server's own answers to unreadable requests — and, with
/// `--access-log`, writes one line per request (``AccessLog``).
///
/// `lockd_http_request_duration_seconds{route}` has one handle per route,
/// made here. `lockd_http_requests_total{route,method,status}` has too many
/// combinations to make up front, so each is made on first use and kept in a
/// table; a request that finds its counter made pays one uncontended lock
/// and one atomic add.
final class HTTPMetering: HTTPExchangeObserver {
    /// The route label of requests no route answered.
    static let noRoute = "none"

    /// The route names, then ``noRoute``.
    private let routeNames: [String]
    /// The same, found by their words (``WordTable``).
    private let routeTable: WordTable
    private let durations: [CoreMetrics.Timer]
    private let requests: RequestCounters
    private let accessLog: AccessLog?

    /// - Parameters:
    ///   - routes: the router's route names.
    ///   - accessLog: where request lines go; nil writes none.
    init(routes: [String], factory: any MetricsFactory, accessLog: AccessLog?) {
        routeNames = routes + [Self.noRoute]
        routeTable = WordTable(routeNames)
        durations = routeNames.map { Timer(label: "lockd_http_request_duration_seconds", dimensions: [("route", $0)], factory: factory) }
        requests = RequestCounters(routes: routeNames, factory: factory)
        self.accessLog = accessLog
    }

    /// Only the access log reads the path.
    var readsPath: Bool { accessLog != nil }

    func answered(_ exchange: inout HTTPExchange) {
        // Not through `flatMap(routeTable.index(of:))`: its closure was
        // called, not inlined (~30 instructions a request).
        var route = routeNames.count - 1
        if let name = exchange.route, let index = routeTable.index(of: name) { route = index }
        // The timer and the counter are used unretained: `durations` and the
        // counters' slots hold them strongly for as long as this object
        // lives, and neither ever drops one. Retained, each was retained and
        // released around its call (~40 instructions a request each).
        Unmanaged.passUnretained(durations[route])._withUnsafeGuaranteedRef {
            $0.recordNanoseconds(Int64(clamping: exchange.durationNanoseconds))
        }
        requests.counter(route: route, method: exchange.method, status: exchange.status.code)._withUnsafeGuaranteedRef {
            $0.increment()
        }
        accessLog?.record(exchange, route: routeNames[route])
    }
}

/// `lockd_http_requests_total` by route, method and status: made on first use,
/// then found in a slot read without a lock (a slot is published once and
/// never changes after). Common methods and statuses have slots; anything
/// else goes to a locked dictionary (rare by construction).
private final class RequestCounters: Sendable {
    private static let methods: [HTTPMethod] = [.get, .head, .post, .put, .delete, .patch, .options]
    /// `methods.count`, as a literal: the static array is behind a lazy
    /// initializer, checked on each read (as a table of it was).
    private static let methodCount = 7
    /// The method slots: each common method, then `other`, then `none` (no method: an unreadable request).
    private static let methodSlots = methodCount + 2
    private static let statusSlots = 18

    private let routes: [String]
    private let factory: any MetricsFactory
    /// Each slot's counter once made, held strongly for as long as this
    /// object lives (never dropped, never replaced): what ``published``
    /// points to. Taken only to make a counter, once a slot.
    private let made: Mutex<[CoreMetrics.Counter?]>
    /// Each route's slots, as ``made`` has them, read without a lock: a
    /// request's counter was found under ``made``'s lock, two atomic
    /// read-modify-writes on a line both event loops' threads wrote
    /// (~25 instructions, and a cache line that moved between the cores
    /// under load).
    private let published: [PublishedCounters]
    private let others = Mutex<[String: CoreMetrics.Counter]>([:])
    /// The common methods' names (``WordTable``), held here rather than
    /// in a static behind a lazy initializer.
    private let methodTable: WordTable

    init(routes: [String], factory: any MetricsFactory) {
        self.routes = routes
        self.factory = factory
        made = Mutex(Array(repeating: nil, count: routes.count * PublishedCounters.count))
        published = routes.map { _ in PublishedCounters() }
        assert(Self.methods.count == Self.methodCount, "methodCount is not methods.count")
        assert(Self.methodSlots * Self.statusSlots == PublishedCounters.count, "a route's slots are not its methods' and statuses'")
        methodTable = WordTable(Self.methods.map(\.rawValue))
    }

    /// The slot of a common status, by a jump table rather than a scan.
    @inline(__always)
    private static func statusSlot(_ status: Int) -> Int? {
        switch status {
        case 200: 0
        case 201: 1
        case 204: 2
        case 400: 3
        case 404: 4
        case 405: 5
        case 406: 6
        case 408: 7
        case 409: 8
        case 413: 9
        case 414: 10
        case 415: 11
        case 417: 12
        case 431: 13
        case 500: 14
        case 501: 15
        case 503: 16
        case 505: 17
        default: nil
        }
    }

    @inline(__always)
    private func methodSlot(_ method: HTTPMethod?) -> Int {
        guard let method else { return Self.methodCount + 1 }
        return methodTable.index(of: method.rawValue) ?? Self.methodCount
    }

    /// The counter of `route`, `method` and `status`, unretained: ``made``
    /// (or `others`) holds it strongly from when it is made — before its
    /// slot in ``published`` names it — for as long as this object lives,
    /// and never drops one.
    @inline(__always)
    func counter(route: Int, method: HTTPMethod?, status: Int) -> Unmanaged<CoreMetrics.Counter> {
        if let statusSlot = Self.statusSlot(status), route >= 0, route < published.count {
            let slot = methodSlot(method) * Self.statusSlots + statusSlot
            // Acquiring: the counter was made before its slot was published (releasing).
            let found = published[route].slots[slot].load(ordering: .acquiring)
            if let counter = UnsafeRawPointer(bitPattern: found) { return Unmanaged.fromOpaque(counter) }
            return makeCounter(route: route, slot: slot, method: method, status: status)
        }
        return otherCounter(route: route, method: method, status: status)
    }

    /// Makes the counter of a slot found empty, and publishes it; a racing
    /// request's counter, if first, is kept (and found again here).
    @inline(never)
    private func makeCounter(route: Int, slot: Int, method: HTTPMethod?, status: Int) -> Unmanaged<CoreMetrics.Counter> {
        // Made outside the lock (the factory takes its registry's).
        let counter = make(route, method, status)
        return made.withLock { made in
            let index = route * PublishedCounters.count + slot
            if let first = made[index] { return Unmanaged.passUnretained(first) }
            made[index] = counter
            // Releasing: a thread that reads the slot finds the counter made.
            published[route].slots[slot].store(UInt(bitPattern: Unmanaged.passUnretained(counter).toOpaque()), ordering: .releasing)
            return Unmanaged.passUnretained(counter)
        }
    }

    /// The counter of an uncommon method or status, from the locked dictionary (made there on first use).
    @inline(never)
    private func otherCounter(route: Int, method: HTTPMethod?, status: Int) -> Unmanaged<CoreMetrics.Counter> {
        let key = "\(route) \(Self.methodLabel(method)) \(status)"
        return others.withLock { others in
            if let counter = others[key] { return Unmanaged.passUnretained(counter) }
            let counter = make(route, method, status)
            others[key] = counter
            return Unmanaged.passUnretained(counter)
        }
    }

    /// Methods other than the common ones share the label `other`, so a
    /// client cannot grow the series count by inventing methods.
    private static func methodLabel(_ method: HTTPMethod?) -> String {
        method.map { methods.contains($0) ? $0.rawValue : "other" } ?? "none"
    }

    private func make(_ route: Int, _ method: HTTPMethod?, _ status: Int) -> CoreMetrics.Counter {
        Counter(label: "lockd_http_requests_total", dimensions: [
            ("route", routes[route]), ("method", Self.methodLabel(method)), ("status", String(status)),
        ], factory: factory)
    }
}

/// One route's counters as ``RequestCounters`` publishes them: each slot
/// (a method's and a status's) the address of its counter once made, 0
/// before. A slot is written once, as its counter is published, and never
/// again; the counter it names lives as long as the ``RequestCounters``.
private final class PublishedCounters: Sendable {
    /// A route's slots: 9 methods (7 common, `other`, none) by 18 statuses.
    static let count = 162
    let slots: InlineArray<162, Atomic<UInt>>

    init() {
        slots = InlineArray { _ in Atomic(0) }
    }
}

/// A few strings, found by position: by their two words in a table indexed
/// by a hash of them, then (a string not there, or equal but built
/// elsewhere) as ``KnownStrings`` finds them. ``KnownStrings`` compares
/// each candidate's words in turn: ~70 instructions to find a route name
/// among a dozen, ~35 a method among seven; one slot is read here.
struct WordTable: Sendable {
    private struct Slot {
        var first: UInt64 = 0
        var second: UInt64 = 0
        /// The string's position + 1; 0: the slot is empty.
        var position = 0
    }

    /// 64 slots: a dozen strings seldom share one (a string that loses its
    /// slot to another is found by the scan).
    private static let slotBits = 6
    private let slots: [Slot]
    private let scan: KnownStrings

    init(_ strings: [String]) {
        scan = KnownStrings(strings)
        var slots = [Slot](repeating: Slot(), count: 1 << Self.slotBits)
        if MemoryLayout<String>.size == 16 {
            // The first of equal strings keeps the slot, as the scan finds the first.
            for (position, string) in strings.enumerated() {
                let (first, second) = Self.words(of: string)
                let slot = Self.slot(first, second)
                if slots[slot].position == 0 { slots[slot] = Slot(first: first, second: second, position: position + 1) }
            }
        }
        self.slots = slots
    }

    /// The position of the first string equal to `string`, or nil.
    /// Inline, the scan out of line: called, the lookup cost ~30
    /// instructions, twice a request (the metering's route and method).
    @inline(__always)
    func index(of string: String) -> Int? {
        if MemoryLayout<String>.size == 16 {
            let (first, second) = Self.words(of: string)
            // In bounds: `slot` is below 1 << slotBits, the table's size.
            let found = slots.withUnsafeBufferPointer { $0[Self.slot(first, second)] }
            // Equal words are equal strings.
            if found.position != 0, found.first == first, found.second == second { return found.position - 1 }
        }
        return scanned(string)
    }

    @inline(never)
    private func scanned(_ string: String) -> Int? {
        scan.index(of: string)
    }

    @inline(__always)
    private static func words(of string: String) -> (UInt64, UInt64) {
        withUnsafeBytes(of: string) { ($0.loadUnaligned(as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }

    @inline(__always)
    private static func slot(_ first: UInt64, _ second: UInt64) -> Int {
        let mixed = (first ^ (second &* 0x9E37_79B9_7F4A_7C15)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> UInt64(64 - slotBits))
    }
}
