// swift-tools-version:6.0
import PackageDescription

// MARK: - System libraries (Debian packages; `make setup` installs them)

let systemLibraries: [Target] = [
    .systemLibrary(
        name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
        providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(
        name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5-serial",
        providers: [.apt(["libhdf5-dev"])]),
    .systemLibrary(
        name: "CLMDB", path: "Sources/CLMDB", pkgConfig: "lmdb",
        providers: [.apt(["liblmdb-dev"])]),
]

// MARK: - Libraries and tools

let modules: [Target] = [
    .target(
        name: "Graph",
        dependencies: [
            "CBLAS",
            .product(name: "Yams", package: "Yams"),
            .product(name: "RealModule", package: "swift-numerics"),
        ]),
    .target(name: "HDF5", dependencies: ["CHDF5"]),
    .target(name: "LMDB", dependencies: ["CLMDB"]),
    .target(
        name: "DataSources",
        dependencies: ["Graph", "HDF5", "LMDB", "CLMDB", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
        exclude: ["Datum/caffe_datum.proto"]),
    .target(
        name: "Experiments",
        dependencies: [
            "Graph", "DataSources", "HDF5", "LMDB",
            .product(name: "CSV", package: "CSV.swift"), .product(name: "Yams", package: "Yams"),
        ]),
    .executableTarget(
        name: "feedbench",
        dependencies: [
            "Graph", "DataSources", "HDF5", "Experiments",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    .executableTarget(
        name: "benchmarks",
        dependencies: ["Graph", "DataSources", "Experiments", "CBLAS"],
        path: "benchmarks",
        exclude: ["nets", "peers", "README.md"]),
]

// MARK: - Tests (one target per module)

let tests: [Target] = [
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "GraphTests", dependencies: ["Graph", "TestSupport"]),
    .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
    .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"]),
    .testTarget(name: "DataSourcesTests", dependencies: [
        "DataSources", "TestSupport", "HDF5", "LMDB", "Graph", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ]),
    .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "TestSupport", "DataSources", "Graph", "HDF5"]),
    .testTarget(name: "FeedBenchCLITests", dependencies: ["feedbench", "TestSupport", "Graph", "DataSources"]),
]

let package = Package(
    name: "FeedBench",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Graph", targets: ["Graph"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "DataSources", targets: ["DataSources"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .executable(name: "feedbench", targets: ["feedbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: systemLibraries + modules + tests
)
