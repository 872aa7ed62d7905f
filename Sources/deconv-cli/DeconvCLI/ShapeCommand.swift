import Deconv

/// `deconv shape OP --input 1,3,3,1 ...`: the output shapes and pads of an op, and why.
/// Every number comes from the library's shape queries; the text only explains them.
enum ShapeCommand {
    static func specs(_ op: OpInfo) -> [OptionSpec] { commonSpecs(op.kind, tensors: false) }

    static func help(_ op: OpInfo?) -> String {
        guard let op else {
            return """
            usage: deconv shape OP --input SHAPE [options]

            Explains the shape arithmetic of an op, with TensorFlow's argument names. Shapes are
            comma lists in data_format order. For a transposed conv it lists every valid
            output_shape (TF accepts exactly `stride` sizes per spatial dim) and the pads each one
            implies; forward ops print the output shape and pads.
            OP: \(OpInfo.all.map(\.name).joined(separator: " "))

            example:
              deconv shape conv2d_transpose --input 1,3,3,1 --filters 3,3,1,1 --strides 2 --padding SAME
            """
        }
        return "usage: deconv shape \(op.name) [options]\n\n" + optionTable(specs(op))
    }

    static func main(_ arguments: [String], console: Console) throws {
        guard let opName = arguments.first, !opName.hasPrefix("-") else {
            if arguments.contains("--help") || arguments.contains("-h") {
                console.out(help(nil))
                return
            }
            throw UsageError("deconv shape: which op? one of: " + OpInfo.all.map(\.name).joined(separator: " ")
                                 + " (see deconv shape --help)")
        }
        let op = try OpInfo.named(opName, command: "deconv shape")
        let command = "deconv shape \(op.name)"
        let args = try ParsedArguments(Array(arguments.dropFirst()), specs: specs(op), command: command)
        if args.help {
            console.out(help(op))
            return
        }
        guard args.positional.isEmpty else {
            throw UsageError("\(command): unexpected argument '\(args.positional[0])'")
        }
        guard let input = try args.intList("input") else {
            throw UsageError("\(command): --input is required (a shape such as 1,3,3,1)")
        }
        let rank = op.spatialRank ?? (input.count - 2)
        guard (1...3).contains(rank), input.count == rank + 2 else {
            throw UsageError("\(command): --input \(shapeText(input)) has \(input.count) dims; "
                                 + (op.spatialRank == nil ? "expected 3, 4 or 5"
                                                          : "\(op.name) needs \(rank + 2), e.g. \(layoutText(rank, .channelsLast))"))
        }
        let format = try parseDataFormat(args.value("data-format"), spatialRank: rank, command: command)
        let padding = try parsePadding(args.value("padding"), default: op.kind == .convTranspose ? .same : nil,
                                       command: command)
        let strides = try args.intList("strides")
        let dilations = try args.intList("dilations") ?? [1]
        let outputShape = try args.intList("output-shape")
        var lines: [String] = []
        do {
            switch op.kind {
            case .conv:
                let filters = try requiredShape(args, "filters", command)
                lines = try explainConv(op, input, filters, strides ?? [1], padding, format, dilations, rank)
            case .convTranspose:
                let filters = try requiredShape(args, "filters", command)
                lines = try explainConvTranspose(op, input, filters, outputShape, strides ?? [1], padding, format,
                                                 dilations, rank)
            default:
                guard let ksize = try args.intList("ksize") else {
                    throw UsageError("\(command): --ksize is required (the pooling window)")
                }
                guard let strides else { throw UsageError("\(command): --strides is required") }
                if op.kind == .maxUnpool || op.kind == .avgUnpool {
                    lines = try explainUnpool(op, input, outputShape, ksize, strides, padding, format, rank)
                } else {
                    lines = try explainPool(op, input, ksize, strides, padding, format, rank)
                }
            }
        } catch let error as DeconvError {
            throw RunFailure("\(command): \(error)")
        }
        console.out(lines.joined(separator: "\n"))
    }

    static func requiredShape(_ args: ParsedArguments, _ name: String, _ command: String) throws -> [Int] {
        guard let shape = try args.intList(name) else {
            throw UsageError("\(command): --\(name) is required (a shape such as 3,3,1,1)")
        }
        return shape
    }

    static func settings(_ strides: [Int], _ padding: Padding, _ format: DataFormat, _ rank: Int,
                         dilations: [Int]? = nil, ksize: [Int]? = nil) -> String {
        var parts: [String] = []
        if let ksize { parts.append("ksize \(listText(ksize))") }
        parts.append("strides \(listText(strides))")
        if let dilations, dilations != [1] { parts.append("dilations \(listText(dilations))") }
        parts.append("padding \(padding)")
        parts.append(formatName(rank, format))
        return parts.joined(separator: ", ")
    }

    static func listText(_ list: [Int]) -> String { list.count == 1 ? String(list[0]) : shapeText(list) }

    static func padsText(_ pads: [(before: Int, after: Int)], _ rank: Int) -> String {
        let names = spatialNames(rank)
        return pads.enumerated().map { "\(names[$0.offset]) \($0.element.before) before / \($0.element.after) after" }
            .joined(separator: ", ")
    }

    /// One line per spatial dim explaining a forward windowed size and its pads.
    static func forwardDimLines(inputs: [Int], kernels: [Int], strides: [Int], dilations: [Int],
                                outputs: [Int], pads: [(before: Int, after: Int)], padding: Padding,
                                rank: Int) -> [String] {
        let names = spatialNames(rank)
        return (0..<rank).map { i in
            let k = kernels[i], s = strides[i], d = dilations[i], n = inputs[i], o = outputs[i]
            let keff = (k - 1) * d + 1
            let kText = d == 1 ? "k \(k)" : "k \(k) dilation \(d) (k_eff \(keff))"
            let (pb, pa) = (pads[i].before, pads[i].after)
            var why: String
            switch padding {
            case .same:
                why = "SAME: out = ceil(\(n)/\(s)) = \(o); total pad = max(0, (\(o)-1)*\(s) + \(keff) - \(n)) = \(pb + pa)"
                if pb + pa > 0 {
                    why += " -> \(pb) before, \(pa) after" + (pa > pb ? " (the odd pad goes at the end)" : "")
                }
            case .valid:
                why = "VALID: out = floor((\(n) - \(keff) + \(s))/\(s)) = \(o); no pad"
            case .explicit:
                why = "EXPLICIT: out = floor((\(n) + \(pb) + \(pa) - \(keff) + \(s))/\(s)) = \(o); pads \(pb) before, \(pa) after"
            }
            return "  \(names[i]): in \(n), \(kText), stride \(s): \(why)"
        }
    }

    static func explainConv(_ op: OpInfo, _ input: [Int], _ filters: [Int], _ strides: [Int], _ padding: Padding,
                            _ format: DataFormat, _ dilations: [Int], _ rank: Int) throws -> [String] {
        let (out, pads) = try convOutputShape(inputShape: input, filterShape: filters, strides: PerDim(strides),
                                              padding: padding, dataFormat: format, dilations: PerDim(dilations))
        var lines = ["\(op.name): input \(shapeText(input)), filters \(shapeText(filters)) [k..., in/groups, out], "
                         + settings(strides, padding, format, rank, dilations: dilations)]
        let channelAxis = format == .channelsLast ? rank + 1 : 1
        let groups = filters[rank] > 0 ? input[channelAxis] / filters[rank] : 1
        lines.append("output shape: \(shapeText(out))" + (groups > 1 ? " (groups \(groups))" : ""))
        lines += forwardDimLines(inputs: spatialDims(input, rank: rank, format: format),
                                 kernels: Array(filters.prefix(rank)),
                                 strides: spatialValues(strides, rank: rank, format: format),
                                 dilations: spatialValues(dilations, rank: rank, format: format),
                                 outputs: spatialDims(out, rank: rank, format: format), pads: pads,
                                 padding: padding, rank: rank)
        return lines
    }

    static func explainPool(_ op: OpInfo, _ input: [Int], _ ksize: [Int], _ strides: [Int], _ padding: Padding,
                            _ format: DataFormat, _ rank: Int) throws -> [String] {
        let (out, pads) = try poolOutputShape(inputShape: input, ksize: PerDim(ksize), strides: PerDim(strides),
                                              padding: padding, dataFormat: format)
        var lines = ["\(op.name): input \(shapeText(input)), " + settings(strides, padding, format, rank, ksize: ksize)]
        lines.append("output shape: \(shapeText(out))")
        lines += forwardDimLines(inputs: spatialDims(input, rank: rank, format: format),
                                 kernels: spatialValues(ksize, rank: rank, format: format),
                                 strides: spatialValues(strides, rank: rank, format: format),
                                 dilations: Array(repeating: 1, count: rank),
                                 outputs: spatialDims(out, rank: rank, format: format), pads: pads,
                                 padding: padding, rank: rank)
        if op.kind == .maxPoolWithArgmax {
            let flat = spatialNames(rank).reduce("b") { "(\($0) * \($1) + \($1.lowercased()))" }
            lines.append("argmax: int64, the output's shape; each index is TF's flat channels-last index "
                             + "\(flat) * C + c (the b term only with --include-batch-in-index)")
        } else {
            lines.append("padding cells never count: max ignores them, avg leaves them out of the divisor (as TF)")
        }
        return lines
    }

    static func explainConvTranspose(_ op: OpInfo, _ input: [Int], _ filters: [Int], _ outputShape: [Int]?,
                                     _ strides: [Int], _ padding: Padding, _ format: DataFormat,
                                     _ dilations: [Int], _ rank: Int) throws -> [String] {
        let stridesArg = PerDim(strides), dilationsArg = PerDim(dilations)
        let ranges = try convTransposeOutputSizes(inputShape: input, filterShape: filters, strides: stridesArg,
                                                  padding: padding, dataFormat: format, dilations: dilationsArg)
        let names = spatialNames(rank)
        let s = spatialValues(strides, rank: rank, format: format)
        let d = spatialValues(dilations, rank: rank, format: format)
        let n = spatialDims(input, rank: rank, format: format)
        let keff = (0..<rank).map { (filters[$0] - 1) * d[$0] + 1 }
        let channelAxis = format == .channelsLast ? rank + 1 : 1
        // TF derives groups from output_shape's channels; without one, groups = 1.
        let outChannels = outputShape.flatMap { $0.count == rank + 2 ? $0[channelAxis] : nil } ?? filters[rank]
        func fullShape(_ sizes: [Int]) -> [Int] {
            format == .channelsLast ? [input[0]] + sizes + [outChannels] : [input[0], outChannels] + sizes
        }
        var lines = ["\(op.name): input \(shapeText(input)), filters \(shapeText(filters)) [k..., out/groups, in], "
                         + settings(strides, padding, format, rank, dilations: dilations)]
        let usable = ranges.map { max(0, $0.lowerBound)...max(0, $0.upperBound) }
        lines.append("valid output sizes: exactly `stride` per spatial dim, those a forward conv maps back onto the input")
        lines.append("  " + (0..<rank).map { i in
            let r = usable[i]
            let sizes = r.count <= 4 ? r.map(String.init).joined(separator: " or ") : "\(r.lowerBound)...\(r.upperBound)"
            return "\(names[i]): \(sizes)"
        }.joined(separator: "   "))
        let combos = usable.reduce(1) { acc, r in
            let (p, overflow) = acc.multipliedReportingOverflow(by: r.count)
            return overflow ? Int.max : p
        }
        if combos <= 16 {
            lines.append("every valid output_shape:")
            var all: [[Int]] = [[]]
            for r in usable { all = all.flatMap { prefix in r.map { prefix + [$0] } } }
            lines += all.map { "  " + shapeText(fullShape($0)) }
        } else {
            lines.append("\(combos == Int.max ? "very many" : String(combos)) valid output_shapes, from "
                             + "\(shapeText(fullShape(usable.map(\.lowerBound)))) to \(shapeText(fullShape(usable.map(\.upperBound))))")
        }
        switch padding {
        case .same, .valid:
            let keras = try (0..<rank).map {
                try kerasConvTransposeOutputSize(inputSize: n[$0], kernelSize: filters[$0], stride: s[$0],
                                                 dilation: d[$0], padding: padding)
            }
            lines.append("Keras Conv\(rank)DTranspose(padding='\(padding == .same ? "same" : "valid")') picks "
                             + shapeText(fullShape(keras)))
        case .explicit:
            break
        }

        // Pads per dim and size: the forward conv's pads for that output size, and the pads of
        // the equivalent "insert stride-1 zeros, pad, convolve with the flipped kernel" view.
        lines.append("pads per output size (forward conv pads -> pads around the zero-inserted input in the transposed view):")
        for i in 0..<rank {
            let r = usable[i]
            let sizes = r.count <= 8 ? Array(r) : [r.lowerBound, r.upperBound]
            for size in sizes {
                var spatial = usable.map(\.lowerBound)
                spatial[i] = size
                let pads = try convTransposePads(inputShape: input, filterShape: filters, outputShape: fullShape(spatial),
                                                 strides: stridesArg, padding: padding, dataFormat: format,
                                                 dilations: dilationsArg)
                let (pb, pa) = (pads[i].before, pads[i].after)
                let start = keff[i] - 1 - pb
                let end = size + pb - (n[i] - 1) * s[i] - 1
                var text = "  \(names[i]) = \(size): forward \(pb) before, \(pa) after -> transposed \(start) at the start, \(end) at the end"
                if start > end { text += " (more at the start)" }
                lines.append(text)
            }
        }
        if let outputShape {
            let pads = try convTransposePads(inputShape: input, filterShape: filters, outputShape: outputShape,
                                             strides: stridesArg, padding: padding, dataFormat: format,
                                             dilations: dilationsArg)
            lines.append("output_shape \(shapeText(outputShape)) is valid; forward pads " + padsText(pads, rank))
        }
        lines.append("why: the result is the full transposed conv, length (in-1)*stride + k_eff, shifted by the")
        lines.append("  forward pad before and cut or zero-extended at the end. TF's SAME puts an odd forward pad")
        lines.append("  at the end (bottom/right), so the transposed op pads more at the start (top/left).")
        return lines
    }

    static func explainUnpool(_ op: OpInfo, _ input: [Int], _ outputShape: [Int]?, _ ksize: [Int], _ strides: [Int],
                              _ padding: Padding, _ format: DataFormat, _ rank: Int) throws -> [String] {
        var lines = ["\(op.name): pooled input \(shapeText(input)), " + settings(strides, padding, format, rank, ksize: ksize)]
        let names = spatialNames(rank)
        let channelAxis = format == .channelsLast ? rank + 1 : 1
        let channels = input[channelAxis]
        func fullShape(_ sizes: [Int]) -> [Int] {
            format == .channelsLast ? [input[0]] + sizes + [channels] : [input[0], channels] + sizes
        }
        if let outputShape {
            let (pooled, pads) = try poolOutputShape(inputShape: outputShape, ksize: PerDim(ksize),
                                                     strides: PerDim(strides), padding: padding, dataFormat: format)
            guard pooled == input else {
                throw DeconvError(.invalidOutputShape, "output_shape \(shapeText(outputShape)) pools to "
                                      + "\(shapeText(pooled)), not to the input \(shapeText(input))")
            }
            lines.append("output_shape \(shapeText(outputShape)) is valid (it pools onto the input); pooling pads "
                             + padsText(pads, rank))
        }
        // The pre-pool sizes that pool onto the input are the transposed-conv sizes of a kernel
        // of extent ksize; both ends are then confirmed with the pooling shape query.
        let k = spatialValues(ksize, rank: rank, format: format)
        var oneChannel = input
        oneChannel[channelAxis] = 1
        let ranges = try convTransposeOutputSizes(inputShape: oneChannel, filterShape: k + [1, 1],
                                                  strides: PerDim(strides), padding: padding, dataFormat: format)
        let usable = ranges.map { max(0, $0.lowerBound)...max(0, $0.upperBound) }
        for ends in [usable.map(\.lowerBound), usable.map(\.upperBound)] {
            let (pooled, _) = try poolOutputShape(inputShape: fullShape(ends), ksize: PerDim(ksize),
                                                  strides: PerDim(strides), padding: padding, dataFormat: format)
            guard pooled == input else {
                throw DeconvError(.invalidOutputShape, "no pre-pool shape pools onto \(shapeText(input)) with these settings")
            }
        }
        lines.append("valid --output-shape sizes (the pre-pool sizes that pool onto the input):")
        lines.append("  " + (0..<rank).map { i in
            let r = usable[i]
            return "\(names[i]): " + (r.count <= 4 ? r.map(String.init).joined(separator: " or ") : "\(r.lowerBound)...\(r.upperBound)")
        }.joined(separator: "   "))
        lines.append("  from \(shapeText(fullShape(usable.map(\.lowerBound)))) to \(shapeText(fullShape(usable.map(\.upperBound))))")
        lines.append(op.kind == .maxUnpool
                         ? "max_unpool zeroes the output and adds each value at its argmax index (duplicates sum: the gradient of max pooling)"
                         : "avg_unpool adds each value to every valid cell of its window (--normalize divides by the count: TF's AvgPoolGrad)")
        return lines
    }
}
