// swift-tools-version: 6.1
//
// Annals: a Temporal-compatible workflow server for one machine, on its own storage engine.
// Module layering (a module depends only on modules above it in this list):
//   CLZ4, CXXHash      system libraries (Debian liblz4-dev, libxxhash-dev)
//   StorageIO          FileSystem / FileHandle protocols, POSIX implementation, directory lock
//   StorageCodec       pure byte formats: integers, checksums, LZ4, log segment header and frame
//   StorageLog         segmented append-only log with group commit and tail recovery
//   StorageIndex       ordered in-memory index structures (memtable); sorted index files come next
//   StorageEngine      tables, partitions, clustering-ordered scans, compare-and-set over the log
//   Persistence        Temporal's persistence model as tables on the store (no protobuf)
//   StorageTesting     in-memory crash-cloning file system, fault injection, seeded RNG (tests only)
//   TemporalAPI        generated Temporal gRPC/protobuf code (tools/generate-protos.sh)
//   Matching           in-memory task queues: sync match, bounded backlog, long polls
//   History            mutable state, the workflow state machine, shards, timer queue
//   Frontend           Temporal's WorkflowService/OperatorService over gRPC; the server
//   LoadGenerator      `annals bench`: a starter plus scripted worker speaking WorkflowService
//   annals             the one executable
//
// Compilation flags:
//   STORAGE_INTERNAL_CHECKS  whole-structure invariant walks (`checkInvariants()`) in the storage
//                            modules; defined for debug builds (so every test run has them),
//                            never for release builds.

import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]
let storage: [SwiftSetting] = upcoming + [.define("STORAGE_INTERNAL_CHECKS", .when(configuration: .debug))]

let package = Package(
    name: "annals",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "annals", targets: ["annals"]),
        .library(name: "StorageLog", targets: ["StorageLog"]),
        .library(name: "StorageEngine", targets: ["StorageEngine"]),
        .library(name: "StorageTesting", targets: ["StorageTesting"]),
        .library(name: "Persistence", targets: ["Persistence"]),
        // For Benchmarks/ (EngineProfile drives the history engine in process).
        .library(name: "History", targets: ["History"]),
        .library(name: "TemporalAPI", targets: ["TemporalAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // The generated Temporal API code must be compiled by the swift-protobuf it was generated
        // with (tools/generate-protos.sh pins both).
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // The load generator's own unary gRPC client is frame-level HTTP/2 on these.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
    ],
    targets: [
        // zlib, for gzip-compressed requests (every Temporal SDK and the CLI send gzip).
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .systemLibrary(
            name: "CXXHash",
            pkgConfig: "libxxhash",
            providers: [.apt(["libxxhash-dev"])]
        ),
        .target(
            name: "StorageIO",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: storage
        ),
        .target(
            name: "StorageCodec",
            dependencies: ["CLZ4", "CXXHash", "StorageIO"],
            swiftSettings: storage
        ),
        .target(
            name: "StorageLog",
            dependencies: ["StorageIO", "StorageCodec"],
            swiftSettings: storage
        ),
        .target(
            name: "StorageIndex",
            dependencies: ["StorageIO", "StorageCodec"],
            swiftSettings: storage
        ),
        .target(
            name: "StorageEngine",
            dependencies: ["StorageIO", "StorageCodec", "StorageLog", "StorageIndex"],
            swiftSettings: storage
        ),
        // Temporal's persistence model (shards, executions, history, tasks, namespaces, visibility)
        // as tables on the store. Knows no protobuf: Temporal-typed payloads are opaque bytes.
        .target(
            name: "Persistence",
            dependencies: ["StorageIO", "StorageCodec", "StorageEngine"],
            swiftSettings: upcoming
        ),
        .target(
            name: "StorageTesting",
            dependencies: ["StorageIO", "StorageCodec"],
            swiftSettings: upcoming
        ),
        // Temporal's API (generated by tools/generate-protos.sh; never edited by hand). No upcoming
        // features: the generated files use plain `import`.
        .target(
            name: "TemporalAPI",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            exclude: ["Generated/GENERATED.stamp"]
        ),
        // Matching: in-memory task queues, sync match, long polls (no Temporal types).
        .target(
            name: "Matching",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: upcoming
        ),
        // History: workflow mutable state, the workflow-task state machine, shards, timers.
        .target(
            name: "History",
            dependencies: [
                "Persistence", "Matching", "TemporalAPI",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: upcoming
        ),
        // Frontend: WorkflowService/OperatorService over gRPC, and the server's composition root.
        .target(
            name: "Frontend",
            dependencies: [
                "History", "Matching", "Persistence", "StorageEngine", "StorageIO", "TemporalAPI", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "LoadGenerator",
            dependencies: [
                "TemporalAPI",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "annals",
            dependencies: [
                "StorageIO", "StorageCodec", "StorageLog", "StorageIndex", "StorageEngine", "LoadGenerator", "Frontend",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "StorageCodecTests",
            dependencies: ["StorageCodec", "StorageTesting"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "StorageLogTests",
            dependencies: ["StorageLog", "StorageCodec", "StorageTesting"],
            exclude: [],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "StorageIndexTests",
            dependencies: ["StorageIndex", "StorageCodec", "StorageIO", "StorageTesting"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "StorageEngineTests",
            dependencies: ["StorageEngine", "StorageIndex", "StorageLog", "StorageCodec", "StorageTesting"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PersistenceTests",
            dependencies: ["Persistence", "StorageEngine", "StorageIO", "StorageTesting"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "History", "Matching", "Persistence", "TemporalAPI", "StorageTesting",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "FrontendTests",
            dependencies: [
                "Frontend", "TemporalAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "LoadGeneratorTests",
            dependencies: [
                "LoadGenerator", "TemporalAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "StorageCrashTests",
            dependencies: ["StorageLog", "StorageCodec", "StorageEngine", "StorageTesting", "annals"],
            swiftSettings: upcoming
        ),
    ]
)
