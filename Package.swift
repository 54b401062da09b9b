// swift-tools-version: 6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
    // Warnings are errors in release builds of our own targets (dependencies keep their own settings).
    .unsafeFlags(["-warnings-as-errors"], .when(configuration: .release)),
]

let package = Package(
    name: "kaitoc",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kaitoc", targets: ["kaitoc"]),
        .library(name: "KaitoCore", targets: ["KaitoCore"]),
        .library(name: "YAML", targets: ["YAML"]),
        .library(name: "GitStore", targets: ["GitStore"]),
        // The engine's libraries, for the fuzz targets in Fuzz/ (a separate package).
        .library(name: "GGUF", targets: ["GGUF"]),
        .library(name: "EngineText", targets: ["EngineText"]),
        .library(name: "InferenceEngine", targets: ["InferenceEngine"]),
        .library(name: "EngineServer", targets: ["EngineServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .systemLibrary(
            name: "CGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .target(
            name: "YAML",
            dependencies: ["CYAML"],
            swiftSettings: upcoming
        ),
        .target(
            name: "GitStore",
            dependencies: ["CGit2"],
            swiftSettings: upcoming
        ),
        .target(
            name: "KaitoCore",
            dependencies: [
                "YAML",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "GitOps",
            dependencies: ["KaitoCore", "GitStore", "YAML"],
            swiftSettings: upcoming
        ),
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "GGUF",
            swiftSettings: upcoming
        ),
        .target(
            name: "EngineText",
            dependencies: ["GGUF"],
            swiftSettings: upcoming
        ),
        .target(
            name: "InferenceEngine",
            dependencies: ["CKernels", "GGUF"],
            swiftSettings: upcoming
        ),
        .target(
            name: "EngineServer",
            dependencies: [
                "InferenceEngine", "EngineText", "GGUF",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "kaito-serve",
            dependencies: [
                "EngineServer", "InferenceEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "kaito-serve-bench",
            dependencies: ["InferenceEngine", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "kaito-tokenizer-bench",
            dependencies: ["EngineText"],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "kaitoc",
            dependencies: [
                "KaitoCore",
                "GitStore",
                "GitOps",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "GitOpsTests",
            dependencies: ["GitOps", "GitStore", "KaitoCore"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "EngineServerTests",
            dependencies: [
                "EngineServer", "EngineText", "InferenceEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "EngineTextTests",
            dependencies: ["EngineText", "GGUF", "InferenceEngine"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "InferenceEngineTests",
            dependencies: ["InferenceEngine", "CKernels", "GGUF"],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "YAMLTests",
            dependencies: ["YAML"],
            resources: [.copy("Fixtures")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "KaitoCoreTests",
            dependencies: ["KaitoCore", "YAML"],
            resources: [.copy("Fixtures")],
            swiftSettings: upcoming
        ),
    ],
    swiftLanguageModes: [.v6]
)
