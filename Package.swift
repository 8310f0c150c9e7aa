// swift-tools-version:6.1
import PackageDescription

// Layers, bottom to top; a dependency arrow never points up.
//   CLockdSystem     epoll/eventfd/accept4 wrappers Glibc's module does not expose
//   COpenSSL         the system's OpenSSL (libssl-dev)
//   LockdTLS         TLS client and server sessions as byte transformers, no I/O
//   LockdTransport   event loops (epoll) that are also task executors; stream sockets (with TLS)
//   LockdHTTP        HTTP/1.1 parser, encoder, router and server — no lock knowledge
//   CZlib            the system's zlib (zlib1g-dev)
//   LockdHTTPCompression  gzip responses: Accept-Encoding negotiation, a responder around a router
//   RESP             the Redis wire codec — pure, no I/O
//   LockdRedis       Redis connections, pool, scripts, pub/sub — no HTTP knowledge
//   LockEngine       lock semantics over the LockStore protocol (Redis and in-memory stores)
//   LockdJSON        a strict, bounded JSON parser (request bodies, the auth file)
//   LockdAuth        the auth file: clients, SHA-256 digests of their secrets, grants on name patterns
//   LockdAPI         HTTP ↔ engine: routes, JSON bodies, problem details
//   LockdClient      the Swift SDK: generated from openapi.yaml, plus LockClient
//   LockdClientURLSession  LockClient(serverURL:session:), apart so that LockdClient never loads libcurl
//   CLockdChild      starting `lockd exec`'s command (own process group, SIGTERM when lockd exec dies)
//                    and a signal self-pipe
//   lockd            the executable: configuration and wiring (the composition root, a ServiceGroup);
//                    also the command-line client (`lockd exec`, `lockd acquire` …) over LockdClient
//   lockbench        load generator for a running lockd
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "lockd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lockd", targets: ["lockd"]),
        .executable(name: "lockbench", targets: ["lockbench"]),
        .library(name: "LockdClient", targets: ["LockdClient"]),
        .library(name: "LockdClientURLSession", targets: ["LockdClientURLSession"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.0"),
        .package(url: "https://github.com/apple/swift-openapi-urlsession", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // A command plugin only (`swift package generate-documentation`): it builds
        // nothing for `swift build` or `swift run lockd`.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CLockdSystem"),
        .target(name: "CLockdChild"),
        .target(
            name: "LockdTransport",
            dependencies: ["CLockdSystem", "LockdTLS"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "LockdHTTP",
            dependencies: ["LockdTransport", "LockdTLS", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "LockdHTTPCompression",
            dependencies: ["LockdHTTP", "CZlib"],
            swiftSettings: strictSwift
        ),
        .target(name: "RESP", swiftSettings: strictSwift),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "LockdTLS", dependencies: ["COpenSSL"], swiftSettings: strictSwift),
        .target(
            name: "LockdRedis",
            dependencies: ["RESP", "LockdTLS", "LockdTransport", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        .target(
            name: "LockEngine",
            dependencies: [
                "LockdRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        .target(name: "LockdJSON", swiftSettings: strictSwift),
        .target(name: "LockdAuth", dependencies: ["LockEngine", "LockdJSON", "COpenSSL"], swiftSettings: strictSwift),
        .target(
            name: "LockdAPI",
            dependencies: [
                "LockEngine",
                "LockdJSON",
                "LockdAuth",
                "LockdHTTP",
                "LockdHTTPCompression",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.embedInCode("openapi.yaml")],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "lockd",
            dependencies: [
                "LockdAPI",
                "LockdAuth",
                "LockdHTTP",
                "LockdRedis",
                "LockEngine",
                "LockdTransport",
                "LockdClient",
                "CLockdChild",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "LockbenchCore",
            dependencies: [.product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "lockbench",
            dependencies: [
                "LockbenchCore",
                "LockdTransport",
                "LockdTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "redisbench",
            dependencies: [
                "LockdRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "lockd-instructions-bench",
            dependencies: [
                "LockEngine", "LockdAPI", "LockdHTTP", "LockdRedis", "LockdTransport",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "benchmarks/locks/lockd-instructions-bench",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "lockd-http-bench",
            dependencies: ["LockdHTTP", "LockdTLS", .product(name: "Logging", package: "swift-log")],
            path: "benchmarks/http/lockd-http-bench",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "lockd-gzip-bench",
            dependencies: ["LockdHTTPCompression", "LockdHTTP", "LockdTransport", .product(name: "Logging", package: "swift-log")],
            path: "benchmarks/gzip/lockd-gzip-bench",
            swiftSettings: strictSwift
        ),
        .target(
            name: "LockdTestSupport",
            dependencies: [
                "LockdTransport", "LockdTLS", "LockdHTTP", "LockdRedis", "LockEngine", "LockdAPI", "LockdAuth", "CZlib",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/LockdTestSupport",
            swiftSettings: strictSwift
        ),
        // Inaccessible pages around test bytes, for code that reads through raw pointers.
        .target(name: "LockdGuardPages", path: "Tests/LockdGuardPages", swiftSettings: strictSwift),
        .testTarget(name: "LockdTransportTests", dependencies: ["LockdTransport", "LockdTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "LockdHTTPTests", dependencies: ["LockdHTTP", "LockdTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "LockdHTTPCompressionTests", dependencies: ["LockdHTTPCompression", "LockdTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "RESPTests", dependencies: ["RESP", "LockdGuardPages"], swiftSettings: strictSwift),
        .testTarget(name: "LockdRedisTests", dependencies: ["LockdRedis", "LockdTestSupport", .product(name: "Logging", package: "swift-log")], swiftSettings: strictSwift),
        .testTarget(name: "LockEngineTests", dependencies: ["LockEngine", "LockdTestSupport", .product(name: "CoreMetrics", package: "swift-metrics")], swiftSettings: strictSwift),
        .testTarget(name: "LockdAuthTests", dependencies: ["LockdAuth", "LockEngine"], swiftSettings: strictSwift),
        .testTarget(name: "LockdAPITests", dependencies: ["LockdAPI", "LockdAuth", "LockEngine", "LockdTestSupport", "LockdGuardPages"], swiftSettings: strictSwift),
        // The SDK. Its generated half is committed (GeneratedSources/, made by `swift run
        // swift-openapi-generator`, see its config): a build plugin on any target makes
        // SwiftPM build the generator for every product, `swift run lockd` included.
        .target(
            name: "LockdClient",
            dependencies: [
                "LockdTransport",
                "LockdTLS",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            exclude: ["openapi-generator-config.yaml"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "LockdClientURLSession",
            dependencies: ["LockdClient", .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession")],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "lockd-client-example",
            dependencies: ["LockdClient"],
            path: "Examples/WithLock",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "lockd-sdk-bench",
            dependencies: [
                "LockdClient",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ],
            path: "benchmarks/sdk/lockd-sdk-bench",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "LockdClientTests",
            dependencies: [
                "LockdClient", "LockdClientURLSession", "LockdAPI", "LockdAuth", "LockdTLS", "LockdTransport", "LockdTestSupport", "LockdGuardPages",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ],
            swiftSettings: strictSwift
        ),
        // Depends on the lockd and lockbench executables so that they are built with the tests, which run them.
        .testTarget(name: "LockdOperationsTests", dependencies: ["lockd", "lockbench", "LockdAuth", "LockdTLS", "LockdTestSupport"], swiftSettings: strictSwift),
        .testTarget(name: "LockbenchTests", dependencies: ["LockbenchCore"], swiftSettings: strictSwift),
    ]
)
