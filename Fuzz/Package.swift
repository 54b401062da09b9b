// swift-tools-version: 6.1
// libFuzzer targets over kaitoc's and kaito-serve's input parsers: built only by `make fuzz`
// (`swift build -Xswiftc -sanitize=fuzzer,address`), never by the main package's builds.
// `kaitoc` is a link to the repository root, so that the dependency's identity does not depend on the clone's folder.
import PackageDescription

let package = Package(
    name: "kaitoc-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "kaitoc")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "fuzz-yaml",
            dependencies: [
                "FuzzSupport", .product(name: "YAML", package: "kaitoc"),
                .product(name: "KaitoCore", package: "kaitoc"),
            ]
        ),
        .executableTarget(
            name: "fuzz-tokenizer",
            dependencies: ["FuzzSupport", .product(name: "EngineText", package: "kaitoc")]
        ),
        .executableTarget(
            name: "fuzz-template",
            dependencies: ["FuzzSupport", .product(name: "EngineText", package: "kaitoc")]
        ),
        .executableTarget(
            name: "fuzz-safetensors",
            dependencies: ["FuzzSupport", .product(name: "InferenceEngine", package: "kaitoc")]
        ),
        .executableTarget(
            name: "fuzz-gguf",
            dependencies: [
                "FuzzSupport", .product(name: "GGUF", package: "kaitoc"),
                .product(name: "EngineText", package: "kaitoc"), .product(name: "InferenceEngine", package: "kaitoc"),
            ]
        ),
        .executableTarget(
            name: "fuzz-request",
            dependencies: ["FuzzSupport", .product(name: "EngineServer", package: "kaitoc")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
