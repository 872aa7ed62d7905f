import Deconv
import Foundation
import Testing

// The golden vectors of the C tests, run through the Swift API: one set of cases, two languages.

/// The status names of FORMAT.md's `expect` lines (deconv.h's names without the prefix).
let statusNames: [String: DeconvError.Code] = [
    "NULL_POINTER": .nullPointer, "STRUCT_SIZE": .structSize, "INVALID_ENUM": .invalidEnum,
    "INVALID_ARGUMENT": .invalidArgument, "INVALID_SHAPE": .invalidShape, "SHAPE_MISMATCH": .shapeMismatch,
    "OUTPUT_SIZE": .outputSize, "INVALID_OUTPUT_SHAPE": .invalidOutputShape, "COUNT_MISMATCH": .countMismatch,
    "OVERFLOW": .overflow, "INDEX_OUT_OF_RANGE": .indexOutOfRange, "OVERLAP": .overlap,
    "WORKSPACE_TOO_SMALL": .workspaceTooSmall, "NO_MEMORY": .noMemory, "SYSTEM": .system,
]

/// What one golden case produced.
enum GoldenResult {
    case values(Tensor)
    case valuesAndIndices(Tensor, IndexTensor)
}

enum GoldenRunner {
    /// Runs a case; returns nil when it passes, else why it failed.
    static func check(_ c: GoldenCase) -> String? {
        do {
            let expected = try c.field("expect").map { words -> DeconvError.Code in
                guard let name = words.first, let code = statusNames[name] else {
                    throw GoldenFormatError("unknown expected status \(words)")
                }
                return code
            }
            let result: GoldenResult
            do {
                result = try run(c)
            } catch let error as DeconvError {
                if let expected {
                    return error.code == expected ? nil : "expected \(expected), got \(error)"
                }
                return "unexpected error \(error)"
            }
            if let expected { return "expected \(expected), the op succeeded" }
            return try compare(result, with: c)
        } catch {
            return "\(error)"
        }
    }

    static func tensor(_ c: GoldenCase, _ name: String, layout: DataFormat = .channelsLast) throws -> Tensor {
        guard let t = c.tensors[name] else { throw GoldenFormatError("case \(c.name): no tensor '\(name)'") }
        return try Tensor(shape: t.shape, scalars: t.values, layout: layout)
    }

    static func padding(_ c: GoldenCase) throws -> Padding {
        switch try c.string("padding") {
        case "VALID": return .valid
        case "SAME": return .same
        case "EXPLICIT":
            guard let pads = try c.ints("pads"), pads.count % 2 == 0 else {
                throw GoldenFormatError("case \(c.name): EXPLICIT without an even 'pads'")
            }
            return .explicit(stride(from: 0, to: pads.count, by: 2).map { (pads[$0], pads[$0 + 1]) })
        case let other: throw GoldenFormatError("case \(c.name): unknown padding \(other)")
        }
    }

    static func activation(_ c: GoldenCase) throws -> Activation {
        switch c.field("activation")?.first ?? "none" {
        case "none": return .none
        case "relu": return .relu
        case "relu6": return .relu6
        case "leaky_relu": return .leakyReLU(alpha: try c.floats("alpha")?.first ?? 0.2)
        case "sigmoid": return .sigmoid
        case "tanh": return .tanh
        case "clamp":
            let bounds = try c.floats("clamp") ?? [0, 6]
            guard bounds.count == 2 else { throw GoldenFormatError("case \(c.name): clamp needs 2 values") }
            return .clamp(min: bounds[0], max: bounds[1])
        case let other: throw GoldenFormatError("case \(c.name): unknown activation \(other)")
        }
    }

    static func flag(_ c: GoldenCase, _ key: String) throws -> Bool {
        switch try c.ints(key)?.first ?? 0 {
        case 0: return false
        case 1: return true
        case let other: throw GoldenFormatError("case \(c.name): \(key) = \(other)")
        }
    }

    /// The output shape a transposed conv / unpool case asks for.
    static func outputShape(_ c: GoldenCase) throws -> [Int] {
        if let shape = c.shapes["output_shape"] { return shape }
        guard let output = c.tensors["output"] else {
            throw GoldenFormatError("case \(c.name): neither 'shape output_shape' nor tensor 'output'")
        }
        return output.shape
    }

    static func run(_ c: GoldenCase) throws -> GoldenResult {
        let op = try c.string("op")
        guard let rank = try c.ints("spatial_rank")?.first, (1...3).contains(rank) else {
            throw GoldenFormatError("case \(c.name): bad spatial_rank")
        }
        let layout: DataFormat
        switch try c.string("layout") {
        case "channels_last": layout = .channelsLast
        case "channels_first": layout = .channelsFirst
        case let other: throw GoldenFormatError("case \(c.name): unknown layout \(other)")
        }
        let padding = try padding(c)
        let strides = PerDim(try c.ints("strides") ?? [1])
        let dilations = PerDim(try c.ints("dilations") ?? [1])
        let ksize = PerDim(try c.ints("ksize") ?? [1])

        switch op {
        case "conv":
            let input = try tensor(c, "input", layout: layout), filters = try tensor(c, "filter")
            let bias = try c.tensors["bias"].map { _ in try tensor(c, "bias") }
            let conv = [1: conv1d, 2: conv2d, 3: conv3d][rank]!
            return .values(try conv(input, filters, strides, padding, layout, dilations, bias, try activation(c), nil))
        case "conv_transpose":
            let input = try tensor(c, "input", layout: layout), filters = try tensor(c, "filter")
            let bias = try c.tensors["bias"].map { _ in try tensor(c, "bias") }
            let convT = [1: conv1dTranspose, 2: conv2dTranspose, 3: conv3dTranspose][rank]!
            return .values(try convT(input, filters, try outputShape(c), strides, padding, layout, dilations, bias,
                                     try activation(c), nil))
        case "max_pool":
            return .values(try maxPool(try tensor(c, "input", layout: layout), ksize: ksize, strides: strides,
                                       padding: padding, dataFormat: layout))
        case "avg_pool":
            return .values(try avgPool(try tensor(c, "input", layout: layout), ksize: ksize, strides: strides,
                                       padding: padding, dataFormat: layout,
                                       countIncludePad: try flag(c, "count_include_pad")))
        case "max_pool_with_argmax":
            let (y, argmax) = try maxPoolWithArgmax(try tensor(c, "input", layout: layout), ksize: ksize,
                                                    strides: strides, padding: padding, dataFormat: layout,
                                                    includeBatchInIndex: try flag(c, "include_batch_in_index"))
            return .valuesAndIndices(y, argmax)
        case "max_unpool":
            guard let a = c.itensors["argmax"] else { throw GoldenFormatError("case \(c.name): no itensor argmax") }
            let argmax = try IndexTensor(shape: a.shape, indices: a.values, layout: layout)
            return .values(try maxUnpool(try tensor(c, "input", layout: layout), argmax: argmax,
                                         outputShape: try outputShape(c), ksize: ksize, strides: strides,
                                         padding: padding, dataFormat: layout,
                                         includeBatchInIndex: try flag(c, "include_batch_in_index")))
        case "avg_unpool":
            return .values(try avgUnpool(try tensor(c, "input", layout: layout), outputShape: try outputShape(c),
                                         ksize: ksize, strides: strides, padding: padding, dataFormat: layout,
                                         normalize: try flag(c, "normalize"),
                                         countIncludePad: try flag(c, "count_include_pad")))
        case "dcgan_generator":
            return .values(try dcganGenerator(c, padding: padding, strides: strides))
        default:
            throw GoldenFormatError("case \(c.name): unknown op '\(op)'")
        }
    }

    /// The Keras DCGAN-style generator of generate.py: the input flattened, then Reshape back,
    /// then Conv2DTranspose x3 (relu, relu, tanh) with the case's kernels and biases.
    static func dcganGenerator(_ c: GoldenCase, padding: Padding, strides: PerDim) throws -> Tensor {
        let input = try tensor(c, "input")
        var layers: [any Layer] = [Reshape(Array(input.shape.dropFirst()))]
        for (i, activation) in [Activation.relu, .relu, .tanh].enumerated() {
            let kernel = try tensor(c, "filter\(i + 1)"), bias = try tensor(c, "bias\(i + 1)")
            guard kernel.rank == 4 else { throw GoldenFormatError("case \(c.name): filter\(i + 1) is not 4-D") }
            var layer = Conv2DTranspose(filters: kernel.shape[2], kernelSize: [kernel.shape[0], kernel.shape[1]],
                                        strides: strides, padding: padding, activation: activation)
            try layer.setWeights(kernel: kernel, bias: bias)
            layers.append(layer)
        }
        let model = try Sequential(inputShape: [input.shape[0], input.scalarCount / max(input.shape[0], 1)], layers)
        return try model(try input.reshaped(to: [input.shape[0], input.scalarCount / max(input.shape[0], 1)]))
    }

    static func compare(_ result: GoldenResult, with c: GoldenCase) throws -> String? {
        let tolerance = try c.floats("tolerance") ?? [1e-5, 1e-5]
        guard tolerance.count == 2 else { throw GoldenFormatError("case \(c.name): tolerance needs 2 values") }
        guard let expected = c.tensors["output"] else { throw GoldenFormatError("case \(c.name): no expected output") }
        let actual: Tensor
        switch result {
        case .values(let y): actual = y
        case .valuesAndIndices(let y, let argmax):
            actual = y
            guard let e = c.itensors["argmax"] else { throw GoldenFormatError("case \(c.name): no expected argmax") }
            if argmax.shape != e.shape { return "argmax shape \(argmax.shape), expected \(e.shape)" }
            if let i = argmax.indices.indices.first(where: { argmax.indices[$0] != e.values[$0] }) {
                return "argmax[\(i)] = \(argmax.indices[i]), expected \(e.values[i])"
            }
        }
        if actual.shape != expected.shape { return "output shape \(actual.shape), expected \(expected.shape)" }
        for (i, (a, e)) in zip(actual.scalars, expected.values).enumerated() {
            let ok = e.isNaN ? a.isNaN
                : e.isInfinite ? a == e
                : abs(a - e) <= tolerance[1] + tolerance[0] * abs(e)
            if !ok { return "output[\(i)] = \(a), expected \(e) (rtol \(tolerance[0]), atol \(tolerance[1]))" }
        }
        return nil
    }
}

@Suite("Golden vectors")
struct GoldenTests {
    /// The ops the golden files must cover; a missing one fails rather than passes vacuously.
    static let requiredOps: Set<String> = [
        "conv", "conv_transpose", "max_pool", "avg_pool", "max_pool_with_argmax", "max_unpool",
        "avg_unpool", "dcgan_generator",
    ]

    @Test("every golden case passes through the Swift API")
    func everyCase() throws {
        let files = try Golden.files()
        #expect(!files.isEmpty, "no .golden files in \(Golden.directory.path)")
        var total = 0
        var ops: Set<String> = []
        var failures: [String] = []
        var names: Set<String> = []
        for file in files {
            let cases = try Golden.parse(file)
            #expect(!cases.isEmpty, "\(file.lastPathComponent) has no cases")
            total += cases.count
            for c in cases {
                if !names.insert(c.name).inserted { failures.append("\(c.name): duplicate case name") }
                if let op = c.field("op")?.first { ops.insert(op) }
                if let why = GoldenRunner.check(c) {
                    failures.append("\(c.file):\(c.line) \(c.name): \(why)")
                }
            }
        }
        #expect(total > 0, "zero golden cases parsed")
        #expect(GoldenTests.requiredOps.isSubset(of: ops), "ops without golden cases: \(GoldenTests.requiredOps.subtracting(ops))")
        #expect(failures.isEmpty, "\(failures.count) of \(total) golden cases failed:\n\(failures.prefix(25).joined(separator: "\n"))")
        print("golden: \(total) cases in \(files.count) files, \(failures.count) failed")
    }

    @Test("an unknown op fails instead of being skipped")
    func unknownOpFails() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("deconv-unknown-\(getpid()).golden")
        try "case x\nop frobnicate\nspatial_rank 2\nlayout channels_last\npadding VALID\nstrides 1 1\nend\n"
            .write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let cases = try Golden.parse(url)
        #expect(cases.count == 1)
        let why = try #require(GoldenRunner.check(cases[0]))
        #expect(why.contains("unknown op"))
    }

    @Test("malformed golden lines are errors")
    func malformedLinesFail() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("deconv-bad-\(getpid()).golden")
        try "case y\nop conv\ntensor input 2 1 : 1 2\nend\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: GoldenFormatError.self) { try Golden.parse(url) }
    }
}
