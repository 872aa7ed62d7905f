import Deconv

/// `deconv run OP --input x.npy ...`: one tf.nn-style op on .npy tensors.
enum RunCommand {
    static func specs(_ op: OpInfo) -> [OptionSpec] {
        var specs = commonSpecs(op.kind, tensors: true)
        switch op.kind {
        case .conv, .convTranspose:
            specs.insert(.value("bias", "bias tensor (.npy), one value per output channel"), at: 2)
            specs.append(.value("activation", "none relu relu6 sigmoid tanh leaky_relu[=ALPHA] clamp=MIN,MAX"))
        case .maxPoolWithArgmax:
            specs.append(.flag("include-batch-in-index", "indices include the batch term b * (spatial * C)"))
            specs.append(.value("argmax-out", "write the int64 indices to this .npy file"))
        case .maxUnpool:
            specs.insert(.value("argmax", "int64 indices (.npy) from max_pool_with_argmax"), at: 1)
            specs.append(.flag("include-batch-in-index", "the indices include the batch term"))
        case .avgPool:
            specs.append(.flag("count-include-pad", "divide by the full window incl. padding (PyTorch's default)"))
        case .avgUnpool:
            specs.append(.flag("normalize", "divide by the window's count (then equals TF's AvgPoolGrad)"))
            specs.append(.flag("count-include-pad", "with --normalize: count padding cells too"))
        case .maxPool:
            break
        }
        specs.append(.value("out", "write the result to this .npy file (default: print it)"))
        specs.append(.value("threads", "worker threads, 0 = one per CPU (default 1)"))
        return specs
    }

    static func help(_ op: OpInfo?) -> String {
        guard let op else {
            return """
            usage: deconv run OP --input X.npy [options]

            Runs one op on .npy tensors, with TensorFlow's argument names in kebab-case.
            OP: \(OpInfo.all.map(\.name).joined(separator: " "))
            Tensors: float32 .npy (float64 and int32 are converted), C order; argmax indices int64.
            Without --out the result is printed. Exit status: 0 ok, 1 the op or a file failed,
            2 a bad command line.

            `deconv run OP --help` lists the options of OP. Example:
              deconv run conv2d_transpose --input x.npy --filters w.npy --output-shape 1,6,6,1 \\
                  --strides 2 --padding SAME --out y.npy
            """
        }
        return "usage: deconv run \(op.name) [options]\n\n" + optionTable(specs(op))
    }

    static func main(_ arguments: [String], console: Console) throws {
        guard let opName = arguments.first, !opName.hasPrefix("-") else {
            if arguments.contains("--help") || arguments.contains("-h") {
                console.out(help(nil))
                return
            }
            throw UsageError("deconv run: which op? one of: " + OpInfo.all.map(\.name).joined(separator: " ")
                                 + " (see deconv run --help)")
        }
        let op = try OpInfo.named(opName, command: "deconv run")
        let command = "deconv run \(op.name)"
        let args = try ParsedArguments(Array(arguments.dropFirst()), specs: specs(op), command: command)
        if args.help {
            console.out(help(op))
            return
        }
        guard args.positional.isEmpty else {
            throw UsageError("\(command): unexpected argument '\(args.positional[0])'")
        }

        // Parse every option before touching a file, so usage errors come first.
        let inputPath = try args.required("input", "the input tensor, a .npy file")
        let strides = try args.intList("strides")
        let ksize = try args.intList("ksize")
        let dilations = try args.intList("dilations")
        let outputShape = try args.intList("output-shape")
        let padding = try parsePadding(args.value("padding"), default: op.kind == .convTranspose ? .same : nil,
                                       command: command)
        let activation = try parseActivation(args.value("activation"), command: command)
        let threads = try args.int("threads")
        if let threads, threads > 1024 {
            throw UsageError("\(command): --threads \(threads) is more than 1024")
        }
        if let out = args.value("out"), out == args.value("argmax-out") {
            throw UsageError("\(command): --out and --argmax-out name the same file")
        }
        var filterPath: String?
        if op.isConv {
            filterPath = try args.required("filters", "the filter tensor, a .npy file")
        } else {
            guard ksize != nil else { throw UsageError("\(command): --ksize is required (the pooling window)") }
            guard strides != nil else { throw UsageError("\(command): --strides is required") }
        }
        if op.kind == .convTranspose || op.kind == .maxUnpool || op.kind == .avgUnpool, outputShape == nil {
            throw UsageError("\(command): --output-shape is required (the full output shape, data_format order)")
        }
        let argmaxPath = op.kind == .maxUnpool ? try args.required("argmax", "indices from max_pool_with_argmax") : nil

        // The input decides the rank for the generic ops; the data format must fit it.
        var input = try readTensor(inputPath, option: "--input", command: command)
        let rank = op.spatialRank ?? (input.rank - 2)
        guard (1...3).contains(rank), input.rank == rank + 2 else {
            throw RunFailure("\(command): --input has shape \(shapeText(input.shape)) (rank \(input.rank)); "
                                 + (op.spatialRank == nil ? "expected rank 3, 4 or 5"
                                                          : "\(op.name) needs rank \(rank + 2), e.g. \(layoutText(rank, .channelsLast))"))
        }
        let format = try parseDataFormat(args.value("data-format"), spatialRank: rank, command: command)
        input = try relayout(input, format, command: command)

        let context = try threads.map { try ExecutionContext(threadCount: $0) }
        let stridesArg = PerDim(strides ?? [1])
        let dilationsArg = PerDim(dilations ?? [1])
        var result: Tensor
        var indices: IndexTensor?
        do {
            switch op.kind {
            case .conv, .convTranspose:
                let filters = try readTensor(filterPath!, option: "--filters", command: command)
                var bias: Tensor?
                if let biasPath = args.value("bias") {
                    let b = try readTensor(biasPath, option: "--bias", command: command)
                    guard b.rank == 1 else {
                        throw RunFailure("\(command): --bias has shape \(shapeText(b.shape)); it must be 1-D (one value per output channel)")
                    }
                    bias = b
                }
                if op.kind == .conv {
                    let f = [conv1d, conv2d, conv3d][rank - 1]
                    result = try f(input, filters, stridesArg, padding, format, dilationsArg, bias, activation, context)
                } else {
                    let f = [conv1dTranspose, conv2dTranspose, conv3dTranspose][rank - 1]
                    result = try f(input, filters, outputShape!, stridesArg, padding, format, dilationsArg, bias,
                                   activation, context)
                }
            case .maxPool:
                result = try maxPool(input, ksize: PerDim(ksize!), strides: stridesArg, padding: padding,
                                     dataFormat: format, context: context)
            case .avgPool:
                result = try avgPool(input, ksize: PerDim(ksize!), strides: stridesArg, padding: padding,
                                     dataFormat: format, countIncludePad: args.flag("count-include-pad"),
                                     context: context)
            case .maxPoolWithArgmax:
                (result, indices) = try maxPoolWithArgmax(input, ksize: PerDim(ksize!), strides: stridesArg,
                                                          padding: padding, dataFormat: format,
                                                          includeBatchInIndex: args.flag("include-batch-in-index"),
                                                          context: context)
            case .maxUnpool:
                let argmax = try readIndices(argmaxPath!, command: command)
                guard argmax.shape == input.shape else {
                    throw RunFailure("\(command): --argmax has shape \(shapeText(argmax.shape)) but --input has "
                                         + "\(shapeText(input.shape)); they must be the same")
                }
                result = try maxUnpool(input, argmax: argmax, outputShape: outputShape!, ksize: PerDim(ksize!),
                                       strides: stridesArg, padding: padding, dataFormat: format,
                                       includeBatchInIndex: args.flag("include-batch-in-index"), context: context)
            case .avgUnpool:
                result = try avgUnpool(input, outputShape: outputShape!, ksize: PerDim(ksize!), strides: stridesArg,
                                       padding: padding, dataFormat: format, normalize: args.flag("normalize"),
                                       countIncludePad: args.flag("count-include-pad"), context: context)
            }
        } catch let error as DeconvError {
            throw RunFailure("\(command): \(error)")
        }

        if let out = args.value("out") {
            try writeOutput { try NPY.write(result, path: out) }
            console.out("wrote \(out): float32 \(shapeText(result.shape))")
        } else {
            console.out(result.description)
        }
        if let indices {
            if let path = args.value("argmax-out") {
                try writeOutput { try NPY.write(indices, path: path) }
                console.out("wrote \(path): int64 \(shapeText(indices.shape))")
            } else {
                console.out("argmax " + indices.description)
            }
        }
    }

    static func readTensor(_ path: String, option: String, command: String) throws -> Tensor {
        do {
            return try NPY.readTensor(path: path)
        } catch let error as NPYError {
            throw RunFailure("\(command): \(option) \(error.message)")
        }
    }

    static func readIndices(_ path: String, command: String) throws -> IndexTensor {
        do {
            return try NPY.readIndexTensor(path: path)
        } catch let error as NPYError {
            throw RunFailure("\(command): --argmax \(error.message)")
        }
    }

    static func relayout(_ tensor: Tensor, _ format: DataFormat, command: String) throws -> Tensor {
        do {
            return try tensor.reshaped(to: tensor.shape, layout: format)
        } catch let error as DeconvError {
            throw RunFailure("\(command): \(error)")
        }
    }

    static func writeOutput(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as NPYError {
            throw RunFailure("deconv run: \(error.message)")
        }
    }
}

/// The aligned option list printed by `--help`.
func optionTable(_ specs: [OptionSpec]) -> String {
    let names = specs.map { "--\($0.name)" + ($0.kind == .value ? " V" : "") }
    let width = (names.map(\.count).max() ?? 0) + 2
    var lines = ["options:"]
    for (name, spec) in zip(names, specs) {
        lines.append("  " + name + String(repeating: " ", count: width - name.count) + spec.help)
    }
    lines.append("  --help" + String(repeating: " ", count: width - 6) + "this text")
    return lines.joined(separator: "\n")
}
