import Foundation
import Testing
@testable import DeconvCLI
import Deconv

// Every golden case (Tests/golden/*.golden, format in Tests/golden/FORMAT.md) run end to end
// through the command line: tensors written as .npy files, `deconv run OP ...` with TF's
// argument names, the result read back from the .npy it wrote.

struct GoldenCase {
    var name = ""
    var file = ""
    var keys: [String: [String]] = [:]
    var tensors: [String: (shape: [Int], values: [Float])] = [:]
    var itensors: [String: (shape: [Int], values: [Int64])] = [:]
    var shapes: [String: [Int]] = [:]

    func key(_ k: String) -> [String]? { keys[k] }
    func ints(_ k: String) -> [Int]? { keys[k].map { $0.compactMap { Int($0) } } }
    func flag(_ k: String) -> Bool { keys[k]?.first == "1" }
}

enum GoldenParseError: Error { case bad(String) }

func goldenDirectory() -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("golden")
}

func loadGoldenCases() throws -> [GoldenCase] {
    let files = try FileManager.default.contentsOfDirectory(atPath: goldenDirectory().path)
        .filter { $0.hasSuffix(".golden") }.sorted()
    var cases: [GoldenCase] = []
    for file in files {
        let text = try String(contentsOf: goldenDirectory().appendingPathComponent(file), encoding: .utf8)
        var current: GoldenCase?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(separator: " ").map(String.init)
            let where_ = "\(file):\(number + 1)"
            switch words[0] {
            case "case":
                current = GoldenCase(name: words[1], file: file)
            case "end":
                guard let done = current else { throw GoldenParseError.bad("\(where_): end outside a case") }
                cases.append(done)
                current = nil
            case "tensor", "itensor", "shape":
                guard current != nil, words.count >= 3, let rank = Int(words[2]), words.count >= 3 + rank else {
                    throw GoldenParseError.bad("\(where_): bad \(words[0]) line")
                }
                let dims = words[3..<(3 + rank)].compactMap { Int($0) }
                if words[0] == "shape" {
                    current!.shapes[words[1]] = dims
                    continue
                }
                guard words.count > 3 + rank, words[3 + rank] == ":" else { throw GoldenParseError.bad("\(where_): no ':'") }
                let values = words[(4 + rank)...]
                if words[0] == "tensor" {
                    current!.tensors[words[1]] = (dims, values.map { Float($0) ?? .nan })
                } else {
                    current!.itensors[words[1]] = (dims, values.compactMap { Int64($0) })
                }
            default:
                guard current != nil else { throw GoldenParseError.bad("\(where_): key outside a case") }
                current!.keys[words[0]] = Array(words.dropFirst())
            }
        }
    }
    return cases
}

/// Status names of FORMAT.md's `expect` mapped to the library's status text the CLI prints.
let statusNames: [String: DeconvError.Code] = [
    "INVALID_ARGUMENT": .invalidArgument, "INVALID_SHAPE": .invalidShape, "SHAPE_MISMATCH": .shapeMismatch,
    "OUTPUT_SIZE": .outputSize, "INVALID_OUTPUT_SHAPE": .invalidOutputShape, "OVERFLOW": .overflow,
    "INDEX_OUT_OF_RANGE": .indexOutOfRange, "INVALID_ENUM": .invalidEnum,
]

/// Writes the case's tensors and returns the `deconv run` arguments for one op.
func runArguments(_ c: GoldenCase, op: String, dir: TempDir, prefix: String, input: String? = nil) throws -> [String] {
    let rank = Int(c.key("spatial_rank")![0])!
    let layout: DataFormat = c.key("layout")![0] == "channels_first" ? .channelsFirst : .channelsLast
    func write(_ name: String) throws -> String? {
        guard let t = c.tensors[name] else { return nil }
        return try dir.write("\(prefix)\(name).npy", try Tensor(shape: t.shape, scalars: t.values))
    }
    var args = ["run", op, "--input", try input ?? write("input")!, "--data-format", formatName(rank, layout)]
    let padding = c.key("padding")![0]
    args += ["--padding", padding == "EXPLICIT" ? c.key("pads")!.joined(separator: ",") : padding]
    args += ["--strides", c.key("strides")!.joined(separator: ",")]
    if let d = c.key("dilations") { args += ["--dilations", d.joined(separator: ",")] }
    if let k = c.key("ksize") { args += ["--ksize", k.joined(separator: ",")] }
    if let f = try write("filter") { args += ["--filters", f] }
    if let b = try write("bias") { args += ["--bias", b] }
    if let activation = c.key("activation")?.first, activation != "none" {
        switch activation {
        case "leaky_relu": args += ["--activation", "leaky_relu=\(c.key("alpha")?.first ?? "0.2")"]
        case "clamp": args += ["--activation", "clamp=" + (c.key("clamp") ?? ["0", "6"]).joined(separator: ",")]
        default: args += ["--activation", activation]
        }
    }
    if c.flag("count_include_pad") { args.append("--count-include-pad") }
    if c.flag("include_batch_in_index") { args.append("--include-batch-in-index") }
    if c.flag("normalize") { args.append("--normalize") }
    if ["conv_transpose", "max_unpool", "avg_unpool"].contains(c.key("op")![0]) || op.hasSuffix("_transpose") {
        if let shape = c.shapes["output_shape"] ?? c.tensors["output"]?.shape {
            args += ["--output-shape", shape.map(String.init).joined(separator: ",")]
        }
    }
    if c.key("op")![0] == "max_unpool", let a = c.itensors["argmax"] {
        args += ["--argmax", try dir.write("\(prefix)argmax.npy", try IndexTensor(shape: a.shape, indices: a.values))]
    }
    return args
}

func close(_ got: [Float], _ expected: [Float], rtol: Float, atol: Float) -> Bool {
    got.count == expected.count && zip(got, expected).allSatisfy { g, e in
        e.isNaN ? g.isNaN : (e.isInfinite ? g == e : abs(g - e) <= atol + rtol * abs(e))
    }
}

@Suite struct GoldenCLITests {
    @Test func everyGoldenCaseThroughNpyFiles() throws {
        let cases = try loadGoldenCases()
        // Fail loudly if the vectors are missing rather than passing on nothing.
        #expect(cases.count > 1000, "only \(cases.count) golden cases found in \(goldenDirectory().path)")
        let dir = try TempDir()
        defer { dir.cleanup() }
        var ran: [String: Int] = [:]
        for (index, c) in cases.enumerated() {
            let op = c.key("op")![0]
            let rank = Int(c.key("spatial_rank")![0])!
            let prefix = "c\(index)_"
            let out = dir.file(prefix + "out.npy")
            let cliOp: String
            switch op {
            case "conv": cliOp = "conv\(rank)d"
            case "conv_transpose": cliOp = "conv\(rank)d_transpose"
            case "max_pool": cliOp = "max_pool\(rank)d"
            case "avg_pool": cliOp = "avg_pool\(rank)d"
            case "max_pool_with_argmax", "max_unpool", "avg_unpool": cliOp = op
            case "dcgan_generator":
                try runGenerator(c, dir: dir, prefix: prefix)
                ran[op, default: 0] += 1
                continue
            default:
                Issue.record("\(c.name): unknown op \(op)")
                continue
            }
            var args = try runArguments(c, op: cliOp, dir: dir, prefix: prefix) + ["--out", out]
            if op == "max_pool_with_argmax" { args += ["--argmax-out", dir.file(prefix + "argmax_out.npy")] }
            let r = deconv(args)
            if let expected = c.key("expect")?.first {
                let code = try #require(statusNames[expected], "\(c.name): unknown status \(expected)")
                #expect(r.status == 1, "\(c.name): \(r.err)")
                #expect(r.err.contains("deconv run \(cliOp): \(code.description): "), "\(c.name): \(r.err)")
                #expect(!FileManager.default.fileExists(atPath: out), "\(c.name) wrote an output on error")
                ran["expect " + expected, default: 0] += 1
                continue
            }
            guard r.status == 0 else {
                Issue.record("\(c.name): exit \(r.status): \(r.err) for deconv \(args.joined(separator: " "))")
                continue
            }
            let expectedOutput = try #require(c.tensors["output"], "\(c.name): no output")
            let got = try NPY.readTensor(path: out)
            let tol = (c.key("tolerance") ?? ["1e-5", "1e-5"]).map { Float($0)! }
            #expect(got.shape == expectedOutput.shape, "\(c.name)")
            #expect(close(got.scalars, expectedOutput.values, rtol: tol[0], atol: tol[1]), "\(c.name)")
            if op == "max_pool_with_argmax" {
                let a = try NPY.readIndexTensor(path: dir.file(prefix + "argmax_out.npy"))
                #expect(a.indices == c.itensors["argmax"]?.values, "\(c.name): argmax")
            }
            ran[op, default: 0] += 1
        }
        // Every op kind of the format was exercised.
        for op in ["conv", "conv_transpose", "max_pool", "avg_pool", "max_pool_with_argmax", "max_unpool", "avg_unpool",
                   "dcgan_generator"] {
            #expect((ran[op] ?? 0) > 0, "no golden case ran for \(op): \(ran)")
        }
    }

    /// FORMAT.md's dcgan_generator: three chained conv2d_transpose runs, each reading the
    /// previous run's .npy output (relu, relu, tanh; output size in * 2).
    func runGenerator(_ c: GoldenCase, dir: TempDir, prefix: String) throws {
        var current = try dir.write(prefix + "z.npy", try Tensor(shape: c.tensors["input"]!.shape, scalars: c.tensors["input"]!.values))
        var shape = c.tensors["input"]!.shape
        for (i, activation) in ["relu", "relu", "tanh"].enumerated() {
            let f = c.tensors["filter\(i + 1)"]!, b = c.tensors["bias\(i + 1)"]!
            shape = [shape[0], shape[1] * 2, shape[2] * 2, f.shape[2]]
            let out = dir.file(prefix + "g\(i).npy")
            let r = deconv("run", "conv2d_transpose", "--input", current,
                           "--filters", try dir.write(prefix + "f\(i).npy", try Tensor(shape: f.shape, scalars: f.values)),
                           "--bias", try dir.write(prefix + "b\(i).npy", try Tensor(shape: b.shape, scalars: b.values)),
                           "--output-shape", shape.map(String.init).joined(separator: ","), "--strides", "2",
                           "--padding", "SAME", "--activation", activation, "--out", out)
            #expect(r.status == 0, "\(c.name) layer \(i): \(r.err)")
            current = out
        }
        let got = try NPY.readTensor(path: current)
        let expected = c.tensors["output"]!
        let tol = (c.key("tolerance") ?? ["1e-5", "1e-5"]).map { Float($0)! }
        #expect(got.shape == expected.shape)
        #expect(close(got.scalars, expected.values, rtol: tol[0], atol: tol[1]), "\(c.name)")
    }
}
