import Foundation
import Testing

// The README's Swift quick start is Examples/SwiftQuickStart/main.swift, verbatim: it is
// compiled by `swift build`, run here, and compared with the README so neither can rot.

@Suite("README Swift quick start")
struct QuickStartTests {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The built SwiftQuickStart executable: next to the test binary (or a few levels up on
    /// platforms that wrap tests in a bundle).
    static func executable() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("SwiftQuickStart")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw GoldenFormatError("SwiftQuickStart not found near \(CommandLine.arguments[0]); build it with `swift build`")
    }

    @Test("the quick start runs and prints TF's worked example")
    func runs() throws {
        let process = Process()
        process.executableURL = try QuickStartTests.executable()
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init)
        let expected = [
            "TF accepts H in 5...6 and W in 5...6",
            "Tensor [1, 5, 5, 1] channelsLast", "[0, :, :, 0]",
            " 1  0  2  0  3", " 0  6  0  8  0", " 4  0  5  0  6", " 0 12  0 14  0", " 7  0  8  0  9",
            "invalid output_shape: output_shape[1] = 7*",
            "Tensor [1, 5, 5, 1] channelsLast", "[0, :, :, 0]",
            " 0  0  0  0  3", " 0  6  0  8  0", " 0  0  0  0  6", " 0 12  0 14  0", " 7  0  8  0  9",
            "[1, 12, 12, 1]", "",
        ]
        #expect(lines.count == expected.count, "output:\n\(lines.joined(separator: "\n"))")
        for (got, want) in zip(lines, expected) {
            if want.hasSuffix("*") {
                #expect(got.hasPrefix(String(want.dropLast())), "got \(got)")
            } else {
                #expect(got == want)
            }
        }
    }

    @Test("README.md shows main.swift verbatim")
    func readmeMatches() throws {
        let source = try String(contentsOf: QuickStartTests.packageRoot
            .appendingPathComponent("Examples/SwiftQuickStart/main.swift"), encoding: .utf8)
        let readme = try String(contentsOf: QuickStartTests.packageRoot.appendingPathComponent("README.md"),
                                encoding: .utf8)
        // Every ```swift block of the README; the quick start is the one starting `import Deconv`.
        let blocks = readme.components(separatedBy: "```swift\n").dropFirst()
            .compactMap { $0.components(separatedBy: "```").first }
        let quickStart = blocks.first { $0.hasPrefix("import Deconv\n") }
        #expect(quickStart == source,
                "README.md needs a ```swift block equal to Examples/SwiftQuickStart/main.swift")
    }
}
