import Foundation
import LockEngine
import LockdAPI
import LockdAuth
import LockdHTTP
import LockdTestSupport
import Testing

/// `--auth-file` over HTTP, in process: who may take which route on which
/// name, what a listing shows, and what a guessing client gets.
@Suite struct AccessControlTests {
    /// One client per action and kind of pattern, plus `root` (every action
    /// on every name) that sets up leases for the others.
    struct Fixture {
        let base = uniqueLockName()
        var clients: [(id: String, secret: String, action: AuthAction, pattern: String)] = []

        init() {
            for action in AuthAction.allCases {
                for (kind, pattern) in [("exact", "\(base).orders"), ("prefix", "\(base).billing:*"), ("all", "*")] {
                    clients.append(("\(action)-\(kind)", "secret-\(action)-\(kind)-\(base)", action, pattern))
                }
            }
        }

        var rootSecret: String { "secret-root-\(base)" }

        func policy() throws -> AccessPolicy {
            var entries = clients.map { client in
                #"{"id": "\#(client.id)", "sha256": "\#(Self.hex(client.secret))", "grants": [{"names": "\#(client.pattern)", "actions": ["\#(client.action)"]}]}"#
            }
            entries.append(#"{"id": "root", "sha256": "\#(Self.hex(rootSecret))", "grants": [{"names": "*", "actions": ["lock", "read", "admin"]}]}"#)
            return try AuthFile.parse(Array(#"{"clients": [\#(entries.joined(separator: ",\n"))]}"#.utf8), file: "test")
        }

        static func hex(_ secret: String) -> String { SHA256Digest(hashing: secret)?.hex ?? "" }

        /// Names inside and outside each kind of pattern.
        var names: [String] { ["\(base).orders", "\(base).orders2", "\(base).billing:1", "\(base).billing", "\(base).billing2:x", "\(base).other"] }
    }

    static func bearer(_ secret: String) -> [String: String] { ["Authorization": "Bearer \(secret)"] }

    /// One request on a connection of its own, read as sent.
    static func raw(_ lockd: TestLockd, _ method: String, _ path: String, body: String = "", headers: [String: String] = [:])
        async throws -> RawHTTPResponse {
        let port = UInt16(try #require(lockd.url.port))
        let client = try await offThePool { try RawHTTPClient(host: "127.0.0.1", port: port) }
        defer { client.close() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: lockd\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        try client.send(head + "\r\n" + body)
        return try await client.readResponse()
    }

    /// An event stream may read what its client could when it connected; a
    /// reload (SIGHUP) that removes the client, or its read grant, ends the
    /// stream — the others go on.
    @Test func aReloadThatRevokesReadingEndsTheClientsEventStreams() async throws {
        let base = uniqueLockName()
        func entry(_ id: String, _ actions: String) -> String {
            let digest = Fixture.hex("secret-\(id)-\(base)")
            return #"{"id": "\#(id)", "sha256": "\#(digest)", "grants": [{"names": "\#(base)*", "actions": [\#(actions)]}]}"#
        }
        func policy(_ entries: [String]) throws -> AccessPolicy {
            try AuthFile.parse(Array(#"{"clients": [\#(entries.joined(separator: ",\n"))]}"#.utf8), file: "test")
        }
        let everyone = [entry("writer", #""lock""#), entry("gone", #""read""#), entry("narrowed", #""read", "lock""#), entry("kept", #""read""#)]
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = try? policy(everyone) }) { lockd in
            let access = try #require(lockd.access)
            var streams: [String: EventStreamReader] = [:]
            for id in ["gone", "narrowed", "kept"] {
                let stream = try await EventStreamReader.open(port: lockd.url.port, prefix: base, headers: Self.bearer("secret-\(id)-\(base)"))
                #expect(stream.status == 200, "\(id): \(stream.head)")
                streams[id] = stream
            }
            defer { for stream in streams.values { stream.client.close() } }
            let streamsOpen = await eventually { access.openStreamCount == 3 }
            #expect(streamsOpen)
            let writer = Self.bearer("secret-writer-\(base)")
            let first = try await lockd.send("POST", "/locks/\(base)a", body: "{}", headers: writer)
            #expect(first.status == 201)
            for (id, stream) in streams { #expect(try await stream.next().name == "\(base)a", "\(id)") }

            access.replace(with: try policy([entry("writer", #""lock""#), entry("narrowed", #""lock""#), entry("kept", #""read""#)]))
            for id in ["gone", "narrowed"] {
                #expect(await streams[id]?.client.closedByServer(within: .seconds(10)) == true, "\(id)'s stream goes on")
            }
            let second = try await lockd.send("POST", "/locks/\(base)b", body: "{}", headers: writer)
            #expect(second.status == 201)
            #expect(try await streams["kept"]?.next().name == "\(base)b")
            #expect(access.openStreamCount == 1)
        }
    }

    /// With auth on every event names the client: a renewal's as an acquire's.
    @Test func aRenewedEventNamesTheClient() async throws {
        let base = uniqueLockName()
        let digest = Fixture.hex("secret-worker-\(base)")
        let entry = #"{"id": "worker", "sha256": "\#(digest)", "grants": [{"names": "\#(base)*", "actions": ["read", "lock"]}]}"#
        let policy = try AuthFile.parse(Array(#"{"clients": [\#(entry)]}"#.utf8), file: "test")
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let worker = Self.bearer("secret-worker-\(base)")
            let events = try await EventStreamReader.open(port: lockd.url.port, prefix: base, headers: worker)
            defer { events.client.close() }
            #expect(events.status == 200)
            let lease = try await lockd.send("POST", "/locks/\(base)x", body: "{}", headers: worker)
            let token = try #require(lease.json["token"] as? String)
            let renewed = try await lockd.send("POST", "/locks/\(base)x/renew", body: "{}", headers: worker.merging(["Lock-Token": token]) { $1 })
            #expect(renewed.status == 200)
            let acquiredEvent = try await events.next()
            let renewedEvent = try await events.next()
            #expect(acquiredEvent.event == "acquired" && acquiredEvent.json["client"] as? String == "worker", "\(acquiredEvent.data)")
            #expect(renewedEvent.event == "renewed" && renewedEvent.json["client"] as? String == "worker", "\(renewedEvent.data)")
        }
    }

    @Test func grantMatrix() async throws {
        let fixture = Fixture()
        let policy = try fixture.policy()
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let root = Self.bearer(fixture.rootSecret)
            func acquire(_ name: String, as headers: [String: String]) async throws -> TestResponse {
                try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms": 30000}"#, headers: headers)
            }
            for client in fixture.clients {
                let headers = Self.bearer(client.secret)
                for name in fixture.names {
                    let allowed = try #require(LockNamePattern(client.pattern)).matches(name)
                    let context = "\(client.id) on \(name)"

                    let acquired = try await acquire(name, as: headers)
                    #expect(acquired.status == (client.action == .lock && allowed ? 201 : 403), "acquire: \(context)")
                    if acquired.status == 201 {
                        let token = try #require(acquired.json["token"] as? String)
                        #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: root.merging(["Lock-Token": token]) { $1 }).status == 204)
                    }

                    let lease = try await acquire(name, as: root)
                    let token = try #require(lease.json["token"] as? String, "\(lease.status) \(lease.text)")
                    let withToken = headers.merging(["Lock-Token": token]) { $1 }
                    let renewed = try await lockd.send("POST", "/locks/\(name)/renew", body: #"{"ttl_ms": 30000}"#, headers: withToken)
                    #expect(renewed.status == (client.action == .lock && allowed ? 200 : 403), "renew: \(context)")
                    let status = try await lockd.send("GET", "/locks/\(name)", headers: headers)
                    #expect(status.status == (client.action == .read && allowed ? 200 : 403), "status: \(context)")
                    let fence = try #require(lease.json["fence"] as? Int)
                    let checked = try await lockd.send("GET", "/locks/\(name)/holders/\(fence)", headers: headers)
                    #expect(checked.status == (client.action == .read && allowed ? 200 : 403), "holder: \(context)")
                    let released = try await lockd.send("DELETE", "/locks/\(name)", headers: withToken)
                    #expect(released.status == (client.action == .lock && allowed ? 204 : 403), "release: \(context)")
                    if released.status != 204 {
                        #expect(released.header("Content-Type") == "application/problem+json")
                        #expect(released.json["type"] as? String == "forbidden")
                        #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: root.merging(["Lock-Token": token]) { $1 }).status == 204)
                    }

                    let held = try await acquire(name, as: root)
                    let heldFence = try #require(held.json["fence"] as? Int)
                    let forced = try await lockd.send("DELETE", "/locks/\(name)?fence=\(heldFence)", headers: headers)
                    #expect(forced.status == (client.action == .admin && allowed ? 204 : 403), "force-release: \(context)")
                    if forced.status != 204 {
                        #expect(try await lockd.send("DELETE", "/locks/\(name)?fence=\(heldFence)", headers: root).status == 204)
                    }
                }
                // Any client may list (it sees what it may read) and scrape metrics.
                #expect(try await lockd.send("GET", "/locks", headers: headers).status == 200, "list: \(client.id)")
                #expect(try await lockd.send("GET", "/metrics", headers: headers).status == 200, "metrics: \(client.id)")
            }
        }
    }

    @Test func noOrUnknownTokenIs401AndOpenRoutesStayOpen() async throws {
        let fixture = Fixture()
        let policy = try fixture.policy()
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let name = "\(fixture.base).orders"
            for headers in [[:], ["Authorization": "Bearer not-a-secret"], ["Authorization": "Basic cm9vdDpyb290"],
                            ["Authorization": "Bearer"], ["Authorization": "Bearer \(Fixture.hex(fixture.rootSecret))"]] {
                for (method, path) in [("POST", "/locks/\(name)"), ("GET", "/locks/\(name)"), ("GET", "/locks"), ("GET", "/metrics"),
                                       ("POST", "/locks/\(name)/renew"), ("DELETE", "/locks/\(name)")] {
                    // Raw: URLSession (libcurl) takes a 401 as a challenge and fails a request with a body.
                    let response = try await Self.raw(lockd, method, path, body: #"{"ttl_ms": 1000}"#, headers: headers)
                    #expect(response.status == 401, "\(method) \(path) with \(headers)")
                    #expect(response.header("WWW-Authenticate") == "Bearer")
                    #expect(response.text.contains(#""type":"unauthorized""#))
                }
            }
            for path in ["/healthz", "/readyz", "/openapi.yaml"] {
                #expect(try await lockd.send("GET", path).status == 200, "\(path)")
            }
            // The scheme's name is case-insensitive.
            #expect(try await lockd.send("GET", "/locks/\(name)", headers: ["Authorization": "bearer \(fixture.rootSecret)"]).status == 200)
            #expect(try await lockd.send("GET", "/no/such/path").status == 404)
        }
    }

    /// A listing shows only what the client may read, in full pages.
    @Test(arguments: StoreKind.allCases)
    func listsShowOnlyReadableNames(_ kind: StoreKind) async throws {
        let fixture = Fixture()
        let policy = try fixture.policy()
        try await kind.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            for name in fixture.names {
                let acquired = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms": 30000}"#, headers: Self.bearer(fixture.rootSecret))
                #expect(acquired.status == 201)
            }
            func listed(_ id: String, limit: Int = 1000) async throws -> [String] {
                let secret = id == "root" ? fixture.rootSecret : try #require(fixture.clients.first { $0.id == id }).secret
                var names: [String] = []
                var cursor = ""
                for _ in 0..<10 {
                    let page = try await lockd.send("GET", "/locks?prefix=\(fixture.base)&limit=\(limit)&cursor=\(cursor)", headers: Self.bearer(secret))
                    #expect(page.status == 200, "\(page.text)")
                    let locks = page.json["locks"] as? [[String: Any]] ?? []
                    #expect(locks.count == limit || page.json["next_cursor"] as? String == nil)
                    names += locks.compactMap { $0["name"] as? String }
                    guard let next = page.json["next_cursor"] as? String else { break }
                    cursor = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? next
                }
                return names
            }
            let base = fixture.base
            #expect(try await listed("read-exact") == ["\(base).orders"])
            #expect(try await listed("read-prefix", limit: 1) == ["\(base).billing:1"])
            #expect(try await listed("read-all", limit: 2).count == fixture.names.count)
            #expect(try await listed("lock-all").isEmpty)
            #expect(try await listed("admin-prefix").isEmpty)
        }
    }

    @Test func aGuessingConnectionIsClosedAfterAHandfulOf401s() async throws {
        let fixture = Fixture()
        let policy = try fixture.policy()
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let port = UInt16(try #require(lockd.url.port))
            let client = try await offThePool { try RawHTTPClient(host: "127.0.0.1", port: port) }
            defer { client.close() }
            var answered = 0
            for guess in 0..<50 {
                do {
                    try client.send("GET /locks HTTP/1.1\r\nHost: lockd\r\nAuthorization: Bearer guess-\(guess)\r\n\r\n")
                    let response = try await client.readResponse()
                    #expect(response.status == 401)
                    answered += 1
                    if response.header("Connection")?.lowercased() == "close" { break }
                } catch {
                    break
                }
            }
            #expect(answered == HTTPServerConfiguration().maxUnauthorizedResponses)
            // The connection is closed: nothing more is answered on it.
            await #expect(throws: (any Error).self) {
                try client.send("GET /healthz HTTP/1.1\r\nHost: lockd\r\n\r\n")
                _ = try await client.readResponse(timeout: .seconds(5))
            }
            // A new connection with a good token is served.
            #expect(try await lockd.send("GET", "/locks", headers: Self.bearer(fixture.rootSecret)).status == 200)
        }
    }

    @Test func metricsCountPerClientAndHoldNoSecret() async throws {
        let fixture = Fixture()
        let policy = try fixture.policy()
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let reader = try #require(fixture.clients.first { $0.id == "read-exact" })
            #expect(try await lockd.send("GET", "/locks/\(fixture.base).orders", headers: Self.bearer(reader.secret)).status == 200)
            #expect(try await lockd.send("GET", "/locks/\(fixture.base).other", headers: Self.bearer(reader.secret)).status == 403)
            #expect(try await Self.raw(lockd, "GET", "/locks/x", headers: Self.bearer("wrong")).status == 401)
            let text = try await lockd.send("GET", "/metrics", headers: Self.bearer(fixture.rootSecret)).text
            #expect(text.contains(#"lockd_auth_requests_total{client="read-exact",outcome="granted"} 1"#), "\(text)")
            #expect(text.contains(#"lockd_auth_requests_total{client="read-exact",outcome="forbidden"} 1"#))
            #expect(text.contains("lockd_auth_unauthorized_total 1"))
            #expect(text.contains("# HELP lockd_auth_requests_total"))
            for secret in fixture.clients.map(\.secret) + [fixture.rootSecret] {
                #expect(!text.contains(secret) && !text.contains(Fixture.hex(secret)))
            }
        }
    }

    @Test func forceReleaseNeedsAdminHoweverTheFenceIsWrittenAndIsCounted() async throws {
        let fixture = Fixture()
        let policy = try fixture.policy()
        try await StoreKind.memory.withLockd(configure: { $0.authPolicy = policy }) { lockd in
            let name = "\(fixture.base).orders"
            let locker = Self.bearer(try #require(fixture.clients.first { $0.id == "lock-all" }).secret)
            let admin = Self.bearer(try #require(fixture.clients.first { $0.id == "admin-exact" }).secret)
            let lease = try await lockd.send("POST", "/locks/\(name)", body: #"{"ttl_ms": 60000}"#, headers: locker)
            let fence = try #require(lease.json["fence"] as? Int)
            // `lock` is no licence to force: not with the fence escaped, nor beside a token.
            for query in ["fence=\(fence)", "f%65nce=\(fence)", "%66ence=\(fence)"] {
                #expect(try await lockd.send("DELETE", "/locks/\(name)?\(query)", headers: locker).status == 403, "\(query)")
            }
            // `admin` is no licence to release with a token.
            let token = try #require(lease.json["token"] as? String)
            #expect(try await lockd.send("DELETE", "/locks/\(name)", headers: admin.merging(["Lock-Token": token]) { $1 }).status == 403)
            #expect(try await lockd.send("DELETE", "/locks/\(name)?f%65nce=\(fence)", headers: admin).status == 204)
            let gone = try await lockd.send("DELETE", "/locks/\(name)?fence=\(fence)", headers: admin)
            #expect(gone.status == 404)
            #expect(gone.json["type"] as? String == "not-held")
            let text = try await lockd.send("GET", "/metrics", headers: Self.bearer(fixture.rootSecret)).text
            #expect(text.contains(#"lockd_auth_force_releases_total{client="admin-exact"} 1"#), "\(text)")
            #expect(!text.contains(#"lockd_auth_force_releases_total{client="lock-all"} 1"#))
        }
    }

    @Test func everyRouteHasARule() async throws {
        try await StoreKind.memory.withEngine { engine, _ in
            let routes = LockAPI(engine: engine).router.routeNames
            #expect(routes.count >= 9)
            for route in routes {
                #expect(AccessControlResponder.hasRule(for: route), "route \(route) has no access rule: closed to every client")
            }
        }
    }
}
