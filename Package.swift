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
//   StorageTesting     in-memory crash-cloning file system, fault injection, seeded RNG (tests only)
//   annals             the one executable
//
// Compilation flags:
//   -D STORAGE_INTERNAL_CHECKS  enables whole-structure invariant walks (`checkInvariants()`);
//                               tools/test builds with it, release builds do not.

import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "annals",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "annals", targets: ["annals"]),
        .library(name: "StorageLog", targets: ["StorageLog"]),
        .library(name: "StorageEngine", targets: ["StorageEngine"]),
        .library(name: "StorageTesting", targets: ["StorageTesting"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
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
            swiftSettings: upcoming
        ),
        .target(
            name: "StorageCodec",
            dependencies: ["CLZ4", "CXXHash", "StorageIO"],
            swiftSettings: upcoming
        ),
        .target(
            name: "StorageLog",
            dependencies: ["StorageIO", "StorageCodec"],
            swiftSettings: upcoming
        ),
        .target(
            name: "StorageIndex",
            dependencies: ["StorageIO", "StorageCodec"],
            swiftSettings: upcoming
        ),
        .target(
            name: "StorageEngine",
            dependencies: ["StorageIO", "StorageCodec", "StorageLog", "StorageIndex"],
            swiftSettings: upcoming
        ),
        .target(
            name: "StorageTesting",
            dependencies: ["StorageIO", "StorageCodec"],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "annals",
            dependencies: [
                "StorageIO", "StorageCodec", "StorageLog",
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
            name: "StorageCrashTests",
            dependencies: ["StorageLog", "StorageCodec", "StorageTesting", "annals"],
            swiftSettings: upcoming
        ),
    ]
)
