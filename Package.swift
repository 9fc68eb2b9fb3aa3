// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "emptcp",
    products: [
        .executable(name: "emptcp", targets: ["emptcp"]),
        .executable(name: "emptcp-bench", targets: ["emptcp-bench"]),
        .library(name: "EmptcpStore", targets: ["EmptcpStore"]),
        .library(name: "EmptcpApply", targets: ["EmptcpApply"]),
        .library(name: "EmptcpFleet", targets: ["EmptcpFleet"]),
        .library(name: "EmptcpControl", targets: ["EmptcpControl"]),
        .executable(name: "emptcp-metered-link", targets: ["emptcp-metered-link"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        // The fleet's revision source is PostgreSQL; PostgresNIO speaks its wire protocol
        // (LISTEN/NOTIFY, TLS) without libpq.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // `status --format prometheus` and `daemon run --metrics`: swift-prometheus writes the
        // exposition, SwiftNIO's HTTP/1 server (already under postgres-nio) serves /metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // System SQLite (libsqlite3-dev): headers only.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite"),
        // System libbpf (libbpf-dev) plus the kernel/user ABI header shared with bpf/.
        .systemLibrary(name: "CLibbpf", path: "Sources/CLibbpf"),
        .target(
            name: "EmptcpStore",
            dependencies: ["CSQLite", .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "EmptcpApply",
            dependencies: ["EmptcpStore", "CLibbpf", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "EmptcpFleet",
            dependencies: [
                "EmptcpStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "EmptcpMetrics",
            dependencies: [
                "EmptcpApply", "EmptcpStore",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "emptcp",
            dependencies: [
                "EmptcpStore", "EmptcpApply", "EmptcpFleet", "EmptcpMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "emptcp-bench",
            dependencies: [
                "EmptcpStore", "EmptcpApply",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Controllers (docs/controllers.md): the client library and the example controller.
        .target(name: "EmptcpControl", dependencies: ["EmptcpApply", "EmptcpStore"]),
        .executableTarget(
            name: "emptcp-metered-link",
            dependencies: ["EmptcpControl", "EmptcpApply", "EmptcpStore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "examples/controllers/metered-link",
            exclude: ["README.md"]
        ),
        .testTarget(name: "EmptcpStoreTests", dependencies: ["EmptcpStore"]),
        .testTarget(name: "EmptcpApplyTests", dependencies: ["EmptcpApply", "EmptcpStore"]),
        .testTarget(name: "EmptcpFleetTests", dependencies: ["EmptcpFleet", "EmptcpStore"]),
        .testTarget(name: "EmptcpMetricsTests", dependencies: ["EmptcpMetrics", "EmptcpApply"]),
    ]
)
