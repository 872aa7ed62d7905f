import Foundation
import Testing
@testable import DeconvCLI
import Deconv

/// What one in-process run of the command printed and returned.
struct CLIResult {
    let status: Int32
    let out: String
    let err: String
}

/// Collects the text the command writes; each test has its own and the command calls it from
/// the test's thread only.
final class TextSink: @unchecked Sendable {
    var text = ""
}

/// Runs `deconv ARGS` in-process.
func deconv(_ arguments: String...) -> CLIResult { deconv(arguments) }

func deconv(_ arguments: [String]) -> CLIResult {
    let out = TextSink(), err = TextSink()
    let status = runDeconv(arguments, console: Console(out: { out.text += $0 + "\n" }, err: { err.text += $0 + "\n" }))
    return CLIResult(status: status, out: out.text, err: err.text)
}

/// Asserts a failed run: the exit status, nothing on stdout, exactly one line on stderr that
/// contains every one of `fragments`.
func expectFailure(_ result: CLIResult, status: Int32, _ fragments: String..., sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == status, "exit status; stderr: \(result.err)", sourceLocation: sourceLocation)
    #expect(result.out.isEmpty, "stdout should be empty, got: \(result.out)", sourceLocation: sourceLocation)
    let lines = result.err.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 2 && lines[1].isEmpty, "one line on stderr, got: \(result.err)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(result.err.contains(fragment), "stderr lacks '\(fragment)': \(result.err)", sourceLocation: sourceLocation)
    }
}

/// A fresh directory under the system's temporary directory, removed by `cleanup()`.
struct TempDir {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("deconv-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ tensor: Tensor) throws -> String {
        try NPY.write(tensor, path: file(name))
        return file(name)
    }

    func write(_ name: String, _ tensor: IndexTensor) throws -> String {
        try NPY.write(tensor, path: file(name))
        return file(name)
    }

    func write(_ name: String, bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Bytes from a hex string (fixtures written by NumPy).
func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        bytes.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}
