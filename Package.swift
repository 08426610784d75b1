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
    // Codecs for compressed HDF5 chunks and encoded images.
    .systemLibrary(
        name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate",
        providers: [.apt(["libdeflate-dev"])]),
    .systemLibrary(
        name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
        providers: [.apt(["liblz4-dev"])]),
    .systemLibrary(
        name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
        providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(
        name: "CBlosc", path: "Sources/CBlosc", pkgConfig: "blosc",
        providers: [.apt(["libblosc-dev"])]),
    .systemLibrary(
        name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
        providers: [.apt(["libturbojpeg0-dev"])]),
    .systemLibrary(
        name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
        providers: [.apt(["libpng-dev"])]),
    // Open MPI, for runs over several ranks (`mpirun`).
    .systemLibrary(
        name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
        providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
]

// MARK: - Libraries and tools

let modules: [Target] = [
    // The engine: CBLAS and the toolchain's own modules only.
    .target(name: "Graph", dependencies: ["CBLAS"]),
    // Network specs written as YAML (DESIGN.md's form and the `mlp:` shorthand).
    .target(name: "NetworkSpecs", dependencies: ["Graph", .product(name: "Yams", package: "Yams")]),
    .target(name: "HDF5", dependencies: ["CHDF5"]),
    .target(name: "LMDB", dependencies: ["CLMDB"]),
    // The ranks of a run: MPI's world under `mpirun`, one rank without it.
    .target(name: "Ranks", dependencies: ["CMPI"]),
    .target(
        name: "DataSources",
        dependencies: [
            "Graph", "HDF5", "LMDB", "CDeflate", "CLZ4", "CZstd", "CBlosc", "CTurboJPEG", "CPNG",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ],
        exclude: ["Datum/caffe_datum.proto"],
        resources: [.copy("Content/Assets")]),
    .target(
        name: "Experiments",
        dependencies: [
            "Graph", "NetworkSpecs", "DataSources", "HDF5", "LMDB", "Ranks",
            .product(name: "CSV", package: "CSV.swift"), .product(name: "Yams", package: "Yams"),
        ],
        resources: [.copy("Emulation/accelerators.yaml")]),
    .executableTarget(
        name: "feedbench",
        dependencies: [
            "Graph", "NetworkSpecs", "DataSources", "HDF5", "LMDB", "Experiments", "Ranks",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    .executableTarget(
        name: "benchmarks",
        dependencies: ["Graph", "NetworkSpecs", "Experiments", "Ranks"],
        path: "benchmarks",
        exclude: ["nets", "peers", "default.yaml", "standard.yaml", "read.yaml", "compressed.yaml", "emulate.yaml", "mpi.yaml"]),
]

// MARK: - Tests (one target per module)

let tests: [Target] = [
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "GraphTests", dependencies: ["Graph", "NetworkSpecs", "TestSupport"]),
    .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
    .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"]),
    .testTarget(name: "RanksTests", dependencies: ["Ranks"]),
    .testTarget(name: "DataSourcesTests", dependencies: [
        "DataSources", "TestSupport", "HDF5", "LMDB", "Graph", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
    ]),
    .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "TestSupport", "DataSources", "Graph", "NetworkSpecs", "HDF5"]),
    .testTarget(name: "FeedBenchCLITests", dependencies: ["feedbench", "TestSupport", "Graph", "DataSources", "Experiments", "HDF5"]),
]

let package = Package(
    name: "FeedBench",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Graph", targets: ["Graph"]),
        .library(name: "NetworkSpecs", targets: ["NetworkSpecs"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "DataSources", targets: ["DataSources"]),
        .library(name: "Ranks", targets: ["Ranks"]),
        .library(name: "Experiments", targets: ["Experiments"]),
        .executable(name: "feedbench", targets: ["feedbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: systemLibraries + modules + tests
)
