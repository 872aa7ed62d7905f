// swift-tools-version: 6.0
// Deconv: the Swift API over libdeconv. CDeconv compiles the very same C sources the Makefile
// builds (Sources/CDeconv/*.c and every subfolder) against the one public header include/deconv.h,
// reached through the forwarding header Sources/CDeconv/include/CDeconv.h.
import PackageDescription

let package = Package(
    name: "Deconv",
    products: [
        .library(name: "Deconv", targets: ["Deconv"]),
        // deconv-cli: the `deconv` executable product goes here (its own issue).
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
        // deconv-cli: the `deconv` executable target goes here (its own issue).
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
