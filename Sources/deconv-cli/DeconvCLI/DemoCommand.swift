import Deconv

/// `deconv demo`: a short guided tour on built-in data. Everything printed is computed by the
/// library on the spot; the checks it reports are real comparisons, not text.
enum DemoCommand {
    static let specs: [OptionSpec] = [
        .value("threads", "threads for the generator pass, 0 = one per CPU (default 0)"),
    ]

    static let help = """
    usage: deconv demo [--threads N]

    A tour on built-in data: TensorFlow's stride-2 SAME transposed conv as 5x5 and 6x6, a
    conv -> max_pool_with_argmax -> max_unpool -> conv_transpose round trip in 2-D and 3-D, and a
    timed DCGAN-style generator forward pass.

    """ + optionTable(specs)

    static func main(_ arguments: [String], console: Console) throws {
        let args = try ParsedArguments(arguments, specs: specs, command: "deconv demo")
        if args.help {
            console.out(help)
            return
        }
        guard args.positional.isEmpty else {
            throw UsageError("deconv demo: unexpected argument '\(args.positional[0])'")
        }
        let threads = try args.int("threads") ?? 0
        guard threads <= 1024 else { throw UsageError("deconv demo: --threads \(threads) is more than 1024") }
        let context = try ExecutionContext(threadCount: threads)
        console.out("deconv demo - libdeconv \(deconvVersion): TensorFlow's conv / transposed conv / pooling, exactly\n")
        try workedExample(console)
        try roundTrips(console)
        try generator(console, context: context)
    }

    // MARK: 1. The worked example

    static func workedExample(_ console: Console) throws {
        let x = try Tensor(shape: [1, 3, 3, 1], range: 1...9)
        let w = try Tensor(shape: [3, 3, 1, 1], scalars: (0..<9).map { $0 % 4 == 0 ? 1 : 0 })
        let y5 = try conv2dTranspose(x, filters: w, outputShape: [1, 5, 5, 1], strides: 2, padding: .same)
        let y6 = try conv2dTranspose(x, filters: w, outputShape: [1, 6, 6, 1], strides: 2, padding: .same)
        let sizes = try convTransposeOutputSizes(inputShape: x.shape, filterShape: w.shape, strides: 2, padding: .same)
        let pads5 = try convTransposePads(inputShape: x.shape, filterShape: w.shape, outputShape: y5.shape,
                                          strides: 2, padding: .same)
        let pads6 = try convTransposePads(inputShape: x.shape, filterShape: w.shape, outputShape: y6.shape,
                                          strides: 2, padding: .same)
        // y5 is y6 without its first row and column: the two sizes shift, not only cut.
        var shifted = true
        for r in 0..<5 {
            for c in 0..<5 where try y5[0, r, c, 0] != y6[0, r + 1, c + 1, 0] { shifted = false }
        }
        let input = try matrixLines(x, rows: 3, columns: 3)
        let m5 = try matrixLines(y5, rows: 5, columns: 5)
        let m6 = try matrixLines(y6, rows: 6, columns: 6)

        console.out("""
        1. conv2d_transpose, stride 2, SAME: the input 1..9 (3x3) with a 3x3 identity kernel
           TF accepts exactly 2 output sizes per dim here (any size that a stride-2 SAME conv maps
           back to 3): H, W in \(sizes[0].lowerBound)...\(sizes[0].upperBound). Both, side by side:

        """)
        var lines = ["   input            output_shape [1,5,5,1]    output_shape [1,6,6,1]"]
        for i in 0..<6 {
            let a = i < 3 ? input[i] : ""
            let b = i < 5 ? m5[i] : ""
            lines.append("   " + pad(a, 17) + pad(b, 26) + m6[i])
        }
        console.out(lines.joined(separator: "\n"))
        let (pb5, pa5) = (pads5[0].before, pads5[0].after)
        let (pb6, pa6) = (pads6[0].before, pads6[0].after)
        let (k, s, n) = (3, 2, 3) // kernel, stride, input size of the example
        console.out("""

           Why the 6x6 one starts one row and column "early": a stride-2 SAME conv of 6 -> 3 needs
           1 pad in total and TF puts the odd pad at the END (pads \(pb6) before, \(pa6) after); for 5 -> 3 it
           is \(pb5) and \(pa5). The transposed conv is that conv's gradient, so it mirrors the pads: it
           pads the zero-inserted input by k-1-before = \(k - 1 - pb6) at the top/left and \(6 + pb6 - (n - 1) * s - 1) at the
           bottom/right - more at the top/left. Check: y5 == y6[1:, 1:] is \(shifted).
           (Try it: deconv shape conv2d_transpose --input 1,3,3,1 --filters 3,3,1,1 --strides 2 --padding SAME)

        """)
    }

    /// A rank-4 single-channel tensor's [0, :, :, 0] as right-aligned text rows.
    static func matrixLines(_ t: Tensor, rows: Int, columns: Int) throws -> [String] {
        try (0..<rows).map { r in
            try (0..<columns).map { c in
                let v = try t[0, r, c, 0]
                let s = v == v.rounded() ? String(Int(v)) : String(v)
                return String(repeating: " ", count: max(0, 2 - s.count)) + s
            }.joined(separator: " ")
        }
    }

    static func pad(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }

    // MARK: 2. Round trips

    static func roundTrips(_ console: Console) throws {
        console.out("2. conv -> max_pool_with_argmax -> max_unpool -> conv_transpose: back to the input's shape")
        // 2-D: 8x8 RGB, a 3x3 conv to 16 channels, 2x2 pooling.
        let x2 = try Tensor(randomUniform: [1, 8, 8, 3], seed: 1)
        let w2 = try Tensor(randomUniform: [3, 3, 3, 16], in: -0.5...0.5, seed: 2)
        try roundTrip(console, x2, w2, ksize: 2, padding: .valid, label: "2-D")
        // 3-D: a batch of ten 2x7x7 volumes; SAME pooling with window and stride 2 gives 1x4x4.
        let x3 = try Tensor(randomUniform: [10, 2, 7, 7, 4], seed: 3)
        let w3 = try Tensor(randomUniform: [3, 3, 3, 4, 8], in: -0.3...0.3, seed: 4)
        try roundTrip(console, x3, w3, ksize: 2, padding: .same, label: "3-D")
        let ambiguous = try poolOutputShape(inputShape: [10, 2, 8, 8, 8], ksize: 2, strides: 2, padding: .same).shape
        console.out("""
           The pooled shape alone does not say where it came from: [10, 2, 8, 8, 8] also pools to
           \(shapeText(ambiguous)). That is why max_unpool and conv_transpose take an output_shape,
           and why TF rejects every size that does not map back (see deconv shape max_unpool --help).

        """)
    }

    static func roundTrip(_ console: Console, _ x: Tensor, _ w: Tensor, ksize: Int, padding: Padding,
                          label: String) throws {
        let rank = x.rank - 2
        let conv = rank == 2 ? conv2d : conv3d
        let convT = rank == 2 ? conv2dTranspose : conv3dTranspose
        let h = try conv(x, w, 1, .same, nil, 1, nil, .none, nil)
        let (pooled, argmax) = try maxPoolWithArgmax(h, ksize: PerDim(ksize), strides: PerDim(ksize), padding: padding)
        let unpooled = try maxUnpool(pooled, argmax: argmax, outputShape: h.shape, ksize: PerDim(ksize),
                                     strides: PerDim(ksize), padding: padding)
        let back = try convT(unpooled, w, x.shape, 1, .same, nil, 1, nil, .none, nil)
        let nonzero = unpooled.scalars.filter { $0 != 0 }.count
        let sumsAgree = abs(unpooled.scalars.reduce(0, +) - pooled.scalars.reduce(0, +))
            <= 1e-3 * max(1, pooled.scalars.reduce(0) { $0 + abs($1) })
        let k = Array(repeating: "\(ksize)", count: rank).joined(separator: "x")
        console.out("""
           \(label): x \(shapeText(x.shape)) -conv\(rank)d \(Array(repeating: "3", count: rank).joined(separator: "x")) SAME-> \(shapeText(h.shape))
                -max_pool_with_argmax \(k) stride \(ksize) \(padding)-> \(shapeText(pooled.shape)) + int64 argmax
                -max_unpool-> \(shapeText(unpooled.shape)) -conv\(rank)d_transpose-> \(shapeText(back.shape))
                restored: \(back.shape == x.shape); unpooled keeps each window's max at its argmax, zeros elsewhere:
                \(nonzero) of \(unpooled.scalarCount) cells nonzero, sum equal to the pooled sum: \(sumsAgree)
        """)
    }

    // MARK: 3. The generator

    static func generator(_ console: Console, context: ExecutionContext) throws {
        let batch = 8
        let z = try Tensor(randomUniform: [batch, 4 * 4 * 256], seed: 7)
        var reshape = Reshape([4, 4, 256])
        var layers: [any Layer] = [
            Conv2DTranspose(filters: 128, kernelSize: 5, strides: 2, padding: .same, activation: .relu),
            Conv2DTranspose(filters: 64, kernelSize: 5, strides: 2, padding: .same, activation: .relu),
            Conv2DTranspose(filters: 3, kernelSize: 5, strides: 2, padding: .same, activation: .tanh),
        ]
        var shapes = [z.shape, try reshape.build(inputShape: z.shape)]
        for i in layers.indices {
            shapes.append(try layers[i].build(inputShape: shapes.last!, seed: UInt64(10 + i)))
        }
        // One untimed pass warms caches and the thread pool; the timed pass is the second.
        var y = try reshape(z, context: context)
        for layer in layers { y = try layer(y, context: context) }
        let start = monotonicSeconds()
        y = try reshape(z, context: context)
        for layer in layers { y = try layer(y, context: context) }
        let ms = (monotonicSeconds() - start) * 1000
        let low = y.scalars.min() ?? 0, high = y.scalars.max() ?? 0
        console.out("""
        3. A DCGAN-style generator: Reshape, then Keras Conv2DTranspose(5x5, stride 2, 'same') x3
           with relu, relu, tanh (Glorot-uniform weights, seeded)
           \(shapes.map(shapeText).joined(separator: " -> "))
           forward pass: \(String(format1(ms))) ms on \(context.threadCount) thread\(context.threadCount == 1 ? "" : "s") for a batch of \(batch); output in [\(format3(low)), \(format3(high))]
        \(debugBuildNote.map { "   (\($0))\n" } ?? "")
        Next: deconv shape --help, deconv run --help, deconv bench --help
        """)
    }
}

/// A number with one decimal, without Foundation.
func format1(_ x: Double) -> String {
    guard x.isFinite else { return String(x) }
    let tenths = (x * 10).rounded()
    let whole = Int(tenths / 10)
    let frac = Int(abs(tenths.truncatingRemainder(dividingBy: 10)))
    return (x < 0 && whole == 0 ? "-" : "") + "\(whole).\(frac)"
}

/// A float with three decimals.
func format3(_ x: Float) -> String {
    guard x.isFinite else { return String(x) }
    let thousandths = (Double(x) * 1000).rounded()
    let sign = thousandths < 0 ? "-" : ""
    let a = abs(thousandths)
    let whole = Int(a / 1000)
    let frac = Int(a.truncatingRemainder(dividingBy: 1000))
    let fracText = String(frac)
    return sign + "\(whole)." + String(repeating: "0", count: 3 - fracText.count) + fracText
}
