// swift-tools-version: 6.0
// Deconv: the Swift API over libdeconv. CDeconv compiles the very same C sources the Makefile
// builds (Sources/CDeconv/*.c and every subfolder) against the one public header include/deconv.h,
// reached through the forwarding header Sources/CDeconv/include/CDeconv.h.
import PackageDescription

let package = Package(
    name: "Deconv",
    products: [
        .library(name: "Deconv", targets: ["Deconv"]),
        // deconv-cli: the `deconv` command; its code is the DeconvCLI library so tests run it in-process.
        .executable(name: "deconv", targets: ["DeconvTool"]),
    ],
    targets: [
        .target(
            name: "CDeconv",
            path: "Sources/CDeconv",
            publicHeadersPath: "include",
            cSettings: [
                // The C files include "deconv.h" (top-level include/) and "internal.h" (target
                // root, also from subfolders such as fast/).
                .headerSearchPath("../../include"),
                .headerSearchPath("."),
                .define("_POSIX_C_SOURCE", to: "200809L"),
            ],
            linkerSettings: [
                .linkedLibrary("pthread", .when(platforms: [.linux, .android, .openbsd])),
                .linkedLibrary("m", .when(platforms: [.linux, .android, .openbsd])),
            ]
        ),
        .target(
            name: "Deconv",
            dependencies: ["CDeconv"],
            path: "Sources/Deconv"
        ),
        // deconv-cli: DeconvCLI holds the command (testable in-process); DeconvTool is its main.swift.
        .target(name: "DeconvCLI", dependencies: ["Deconv"], path: "Sources/deconv-cli/DeconvCLI"),
        .executableTarget(name: "DeconvTool", dependencies: ["DeconvCLI"], path: "Sources/deconv-cli/Tool"),
        .testTarget(name: "DeconvCLITests", dependencies: ["DeconvCLI", "Deconv", "DeconvTool"],
                    path: "Tests/DeconvCLITests"),
        .executableTarget(
            name: "SwiftQuickStart",
            dependencies: ["Deconv"],
            path: "Examples/SwiftQuickStart"
        ),
        .testTarget(
            name: "DeconvTests",
            dependencies: ["Deconv", "CDeconv", "SwiftQuickStart"],
            path: "Tests/DeconvTests"
        ),
    ],
    cLanguageStandard: .c99
)
