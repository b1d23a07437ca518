// swift-tools-version:6.2
import PackageDescription

/// Upcoming features we opt into everywhere (see ../shared/STYLE.md §8).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "outbox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "outboxd", targets: ["outboxd"]),
        .executable(name: "outbox", targets: ["outbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: C libraries (Debian -dev packages) and their thin Swift wrappers
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        // Only for sqlite3_db_config (variadic); every other SQLite call goes through GRDB.
        .systemLibrary(name: "CSQLiteConfig", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Curl", dependencies: ["CCurl"]),
        .target(
            name: "Systemd",
            // OutboxCore (pure, stdlib only) for LogKey: the journal fields are the log's metadata keys.
            dependencies: ["CSystemd", "OutboxCore", .product(name: "Logging", package: "swift-log")]
        ),

        // MARK: The product
        .target(name: "OutboxCore"),
        // The system calls everyone needs the same way: durable files, EINTR, the wall clock.
        .target(name: "OutboxSystem", dependencies: ["OutboxCore"]),
        .target(
            name: "OutboxConfig",
            dependencies: [
                "OutboxCore",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "OutboxStore",
            dependencies: [
                "OutboxCore", "OutboxSystem", "CSQLiteConfig", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "OutboxDelivery",
            dependencies: ["OutboxCore", "OutboxConfig", "OutboxSystem", "Curl"]
        ),
        // The SMTP conversation as a pure state machine (issue 12), and the NIO listener driving it.
        .target(name: "OutboxSMTPServer", dependencies: ["OutboxCore"]),
        .target(
            name: "OutboxListener",
            dependencies: [
                "OutboxCore", "OutboxConfig", "OutboxStore", "OutboxSMTPServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "OutboxMetrics",
            dependencies: [
                "OutboxCore", "OutboxStore",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "OutboxDaemon",
            dependencies: [
                "OutboxCore", "OutboxConfig", "OutboxStore", "OutboxDelivery", "OutboxListener", "OutboxMetrics",
                "OutboxSystem", "Systemd",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Executables: thin
        .executableTarget(
            name: "outboxd",
            dependencies: [
                "OutboxDaemon", "OutboxConfig", "OutboxCore", "OutboxMetrics", "OutboxSystem", "Systemd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // Linked by the toolchain's lld with packed relative relocations (glibc ≥ 2.36): a
            // --static-swift-stdlib daemon then reads ~40 KB of relocations at start instead of
            // 2.2 MB, and keeps that much less resident (bench/RESULTS.md, memory).
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux]))]
        ),
        .executableTarget(
            name: "outbox",
            dependencies: [
                "OutboxCore", "OutboxConfig", "OutboxStore", "OutboxDelivery", "OutboxMetrics", "OutboxSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: The fault suite's parser fuzzer (bench/faults.sh fuzz)
        .executableTarget(name: "outbox-fuzz", dependencies: ["OutboxCore", "OutboxConfig", "OutboxSMTPServer"]),

        // MARK: Tests
        .testTarget(name: "OutboxCoreTests", dependencies: ["OutboxCore"]),
        .testTarget(name: "OutboxSMTPServerTests", dependencies: ["OutboxSMTPServer", "OutboxCore"]),
        .testTarget(name: "OutboxConfigTests", dependencies: ["OutboxConfig", "OutboxCore"]),
        .testTarget(
            name: "OutboxStoreTests",
            dependencies: ["OutboxStore", "OutboxCore", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "OutboxDaemonTests", dependencies: ["OutboxDaemon", "OutboxStore", "OutboxCore"]),
        .testTarget(name: "OutboxDeliveryTests", dependencies: ["OutboxDelivery", "OutboxConfig", "OutboxCore", "Curl"]),
        .testTarget(name: "OutboxSystemTests", dependencies: ["OutboxSystem", "OutboxCore"]),
        .testTarget(
            name: "OutboxMetricsTests",
            dependencies: ["OutboxMetrics", "OutboxStore", "OutboxCore"]
        ),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd", .product(name: "Logging", package: "swift-log")]),
        // Drives the built outboxd and outbox binaries; links only the pure core (MIME checks).
        .testTarget(name: "OutboxEndToEndTests", dependencies: ["OutboxCore"]),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
