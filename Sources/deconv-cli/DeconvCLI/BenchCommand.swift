import Deconv

/// `deconv bench`: the project's benchmark layers (docs: benchmark-suite.md, the same names as
/// the C `make bench`) run through the Swift API. Progress goes to stderr, the table to stdout.
enum BenchCommand {
    struct Layer {
        let name: String
        let transposed: Bool
        let batch: Int
        let input: [Int]   // spatial
        let cin: Int
        let cout: Int
        let k: Int
        let s: Int
        let padding: Padding
        let output: [Int]  // spatial

        var inputShape: [Int] { [batch] + input + [cin] }
        var outputShape: [Int] { [batch] + output + [cout] }
        var filterShape: [Int] {
            Array(repeating: k, count: input.count) + (transposed ? [cout, cin] : [cin, cout])
        }
    }

    // The fixed suite: float32, channels-last, TF padding.
    static let suite: [Layer] = [
        Layer(name: "dcgan1", transposed: true, batch: 8, input: [4, 4], cin: 1024, cout: 512, k: 5, s: 2, padding: .same, output: [8, 8]),
        Layer(name: "dcgan2", transposed: true, batch: 8, input: [8, 8], cin: 512, cout: 256, k: 5, s: 2, padding: .same, output: [16, 16]),
        Layer(name: "dcgan3", transposed: true, batch: 8, input: [16, 16], cin: 256, cout: 128, k: 5, s: 2, padding: .same, output: [32, 32]),
        Layer(name: "dcgan4", transposed: true, batch: 8, input: [32, 32], cin: 128, cout: 3, k: 5, s: 2, padding: .same, output: [64, 64]),
        Layer(name: "unet_up", transposed: true, batch: 1, input: [32, 32], cin: 512, cout: 256, k: 2, s: 2, padding: .valid, output: [64, 64]),
        Layer(name: "fcn_k4", transposed: true, batch: 1, input: [28, 28], cin: 256, cout: 128, k: 4, s: 2, padding: .same, output: [56, 56]),
        Layer(name: "seed_small", transposed: true, batch: 1, input: [3, 3], cin: 4, cout: 2, k: 3, s: 2, padding: .same, output: [6, 6]),
        Layer(name: "mnist_k3s2", transposed: true, batch: 32, input: [14, 14], cin: 32, cout: 1, k: 3, s: 2, padding: .same, output: [28, 28]),
        Layer(name: "vol3d", transposed: true, batch: 10, input: [1, 4, 4], cin: 512, cout: 512, k: 3, s: 2, padding: .same, output: [2, 7, 7]),
        Layer(name: "vgg3x3", transposed: false, batch: 1, input: [56, 56], cin: 128, cout: 128, k: 3, s: 1, padding: .same, output: [56, 56]),
        Layer(name: "down_s2", transposed: false, batch: 8, input: [32, 32], cin: 64, cout: 128, k: 3, s: 2, padding: .same, output: [16, 16]),
        Layer(name: "lenet_c1", transposed: false, batch: 64, input: [28, 28], cin: 1, cout: 32, k: 5, s: 1, padding: .same, output: [28, 28]),
        Layer(name: "lenet_c2", transposed: false, batch: 64, input: [14, 14], cin: 32, cout: 64, k: 5, s: 1, padding: .same, output: [14, 14]),
    ]

    static let specs: [OptionSpec] = [
        .value("filter", "only layers whose name contains this text (comma-separate several)"),
        .value("threads", "threads, 0 = one per CPU (default 1)"),
        .value("repeat", "timed runs per layer; the median is reported (default 5)"),
        .value("warmup", "untimed runs per layer first (default 1)"),
    ]

    static var help: String {
        """
        usage: deconv bench [--filter NAME] [--threads N] [--repeat N] [--warmup N]

        Times the benchmark layers (\(suite.map(\.name).joined(separator: " ")))
        through the Swift API. Progress goes to stderr; a table of the median time and GFLOP/s of
        useful work (multiply-adds that touch the input and the output, not padding) to stdout.
        Build with optimisation for meaningful numbers: swift run -c release deconv bench

        """ + optionTable(specs)
    }

    static func main(_ arguments: [String], console: Console) throws {
        let args = try ParsedArguments(arguments, specs: specs, command: "deconv bench")
        if args.help {
            console.out(help)
            return
        }
        guard args.positional.isEmpty else {
            throw UsageError("deconv bench: unexpected argument '\(args.positional[0])'")
        }
        let threads = try args.int("threads") ?? 1
        let repeats = try args.int("repeat") ?? 5
        let warmup = try args.int("warmup") ?? 1
        guard threads <= 1024 else { throw UsageError("deconv bench: --threads \(threads) is more than 1024") }
        guard repeats >= 1 else { throw UsageError("deconv bench: --repeat must be at least 1") }
        var layers = suite
        if let filter = args.value("filter") {
            let words = filter.split(separator: ",").map(String.init)
            layers = suite.filter { layer in words.contains { layer.name.contains($0) } }
            guard !layers.isEmpty else {
                throw UsageError("deconv bench: --filter '\(filter)' matches no layer; layers: "
                                     + suite.map(\.name).joined(separator: " "))
            }
        }
        let context = try ExecutionContext(threadCount: threads)
        if let note = debugBuildNote { console.err("deconv bench: " + note) }
        var rows: [[String]] = []
        for (i, layer) in layers.enumerated() {
            console.err("[\(i + 1)/\(layers.count)] \(layer.name) ...")
            let (ms, flops) = try measure(layer, context: context, repeats: repeats, warmup: warmup)
            let gflops = Double(flops) / (ms * 1e-3) / 1e9
            console.err("[\(i + 1)/\(layers.count)] \(layer.name): \(format3(Float(ms))) ms")
            rows.append([layer.name, layer.transposed ? "conv_transpose" : "conv",
                         shapeText(layer.inputShape) + " -> " + shapeText(layer.outputShape),
                         format3(Float(ms)), gflops >= 0.1 ? format1(gflops) : format3(Float(gflops))])
        }
        let header = ["layer", "kind", "shape", "median ms", "GFLOP/s"]
        console.out("deconv bench: libdeconv \(deconvVersion), \(context.threadCount) thread\(context.threadCount == 1 ? "" : "s"), "
                        + "median of \(repeats) run\(repeats == 1 ? "" : "s")")
        console.out(table([header] + rows, rightAligned: [3, 4]))
    }

    /// Median milliseconds of `repeats` timed runs, and the useful FLOPs of one run.
    static func measure(_ layer: Layer, context: ExecutionContext, repeats: Int, warmup: Int) throws -> (Double, Int) {
        let x = try Tensor(randomUniform: layer.inputShape, seed: 1)
        let w = try Tensor(randomUniform: layer.filterShape, in: -0.1...0.1, seed: 2)
        let rank = layer.input.count
        let run: () throws -> Tensor
        var pads: [(before: Int, after: Int)]
        if layer.transposed {
            let f = rank == 2 ? conv2dTranspose : conv3dTranspose
            run = { try f(x, w, layer.outputShape, PerDim(layer.s), layer.padding, nil, 1, nil, .none, context) }
            pads = try convTransposePads(inputShape: layer.inputShape, filterShape: layer.filterShape,
                                         outputShape: layer.outputShape, strides: PerDim(layer.s), padding: layer.padding)
        } else {
            let f = rank == 2 ? conv2d : conv3d
            run = { try f(x, w, PerDim(layer.s), layer.padding, nil, 1, nil, .none, context) }
            let (shape, p) = try convOutputShape(inputShape: layer.inputShape, filterShape: layer.filterShape,
                                                 strides: PerDim(layer.s), padding: layer.padding)
            guard shape == layer.outputShape else {
                throw RunFailure("deconv bench: \(layer.name) gives \(shapeText(shape)), the suite says \(shapeText(layer.outputShape))")
            }
            pads = p
        }
        for _ in 0..<warmup { _ = try run() }
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = monotonicSeconds()
            let y = try run()
            times.append(monotonicSeconds() - start)
            guard y.shape == layer.outputShape else {
                throw RunFailure("deconv bench: \(layer.name) gives \(shapeText(y.shape)), the suite says \(shapeText(layer.outputShape))")
            }
        }
        times.sort()
        let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
        return (median * 1000, usefulFlops(layer, pads: pads))
    }

    /// 2 * N * Cin * Cout * (per spatial dim, the (position, tap) pairs that land inside both
    /// the input and the output): padding taps are not work.
    static func usefulFlops(_ layer: Layer, pads: [(before: Int, after: Int)]) -> Int {
        var taps = 1
        for d in layer.input.indices {
            let pb = pads[d].before
            var count = 0
            if layer.transposed {
                // input i, tap a lands on output i*s + a - pb.
                for i in 0..<layer.input[d] {
                    for a in 0..<layer.k where (0..<layer.output[d]).contains(i * layer.s + a - pb) { count += 1 }
                }
            } else {
                // output o, tap a reads input o*s + a - pb.
                for o in 0..<layer.output[d] {
                    for a in 0..<layer.k where (0..<layer.input[d]).contains(o * layer.s + a - pb) { count += 1 }
                }
            }
            taps *= count
        }
        return 2 * layer.batch * layer.cin * layer.cout * taps
    }

    /// Text table with a header rule; columns in `rightAligned` are right-aligned.
    static func table(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            row.enumerated().map { c, cell in
                let fill = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? fill + cell : cell + fill
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(rows[0]), rule] + rows.dropFirst().map(line)).joined(separator: "\n")
    }
}
