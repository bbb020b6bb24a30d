// swift-tools-version: 6.1
//
// Benchmarks live in their own package so the main package's graph stays free of the benchmark
// plugin and its malloc interposer. Run from this directory:
//   swift package --allow-writing-to-package-directory benchmark --target LogBenchmarks
//   swift package --allow-writing-to-package-directory benchmark --target StoreBenchmarks
//   swift package --allow-writing-to-package-directory benchmark --target PersistenceBenchmarks
// Results and the commands that produced them are recorded in ../docs/benchmarks.md.

import Foundation
import PackageDescription

// A path dependency's identity is its directory's name, which depends on where the repository was
// cloned; derive it instead of hard-coding "annals".
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "annals-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Anchors measured in the same run: Debian's libsqlite3-dev and librocksdb-dev.
        .systemLibrary(name: "CSQLite", path: "Anchors/CSQLite"),
        .systemLibrary(name: "CRocksDB", path: "Anchors/CRocksDB"),
        .executableTarget(
            name: "StoreBenchmarks",
            dependencies: [
                "CSQLite", "CRocksDB", "StoreWorkload",
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "StorageEngine", package: root),
                .product(name: "StorageTesting", package: root),
            ],
            path: "Benchmarks/StoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .target(
            name: "StoreWorkload",
            dependencies: [
                .product(name: "StorageEngine", package: root),
                .product(name: "StorageTesting", package: root),
            ],
            path: "Benchmarks/StoreWorkload"
        ),
        // A plain executable for profilers: `perf record -g .build/release/StoreProfile 10`.
        .executableTarget(
            name: "StoreProfile",
            dependencies: ["StoreWorkload"],
            path: "Benchmarks/StoreProfile"
        ),
        // The history engine over the store without gRPC: `.build/release/EngineProfile 2000`.
        .executableTarget(
            name: "EngineProfile",
            dependencies: [
                .product(name: "History", package: root),
                .product(name: "Persistence", package: root),
                .product(name: "TemporalAPI", package: root),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Benchmarks/EngineProfile"
        ),
        .executableTarget(
            name: "PersistenceBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "Persistence", package: root),
                .product(name: "StorageEngine", package: root),
            ],
            path: "Benchmarks/PersistenceBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
        .executableTarget(
            name: "LogBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "StorageLog", package: root),
                .product(name: "StorageTesting", package: root),
            ],
            path: "Benchmarks/LogBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
