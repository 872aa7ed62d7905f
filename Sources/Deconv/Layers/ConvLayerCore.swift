/// What Conv1D/2D/3D and Conv1DTranspose/2D/3D share: settings, weights, building, running.
/// Kernels follow TF/Keras layouts: conv `[k..., in / groups, filters]`, transposed
/// `[k..., filters, in]`.
struct ConvLayerCore: Sendable {
    let spatialRank: Int
    let transposed: Bool
    let name: String
    var filters: Int
    var kernelSize: PerDim
    var strides: PerDim
    var padding: Padding
    var outputPadding: PerDim?
    var dilation: PerDim
    var groups: Int
    var activation: Activation
    var useBias: Bool
    var dataFormat: DataFormat
    var seed: UInt64?
    var kernel: Tensor?
    var bias: Tensor?
    /// The input shape of the last build.
    var builtInputShape: [Int]?
    /// The weights prepared (packed once, `PreparedConv`) for `builtInputShape`: a run on that
    /// shape then only reads its input, as the one-shot op would repack the weights on every
    /// call. Remade whenever the weights change; copies of the layer share it (it is
    /// immutable). It holds a second, packed copy of the kernel.
    var prepared: PreparedConv?

    /// Kernel extents per spatial dim.
    func kernelExtents() throws -> [Int] {
        try kernelSize.resolve(spatialRank: spatialRank, layout: dataFormat, name: "kernelSize",
                               allowFullLength: false).map { try toInt($0, "kernelSize") }
    }

    /// The kernel shape for `inputChannels`.
    func kernelShape(inputChannels: Int) throws -> [Int] {
        guard filters >= 1 else {
            throw DeconvError(.invalidArgument, "\(name): filters = \(filters) must be >= 1")
        }
        guard groups >= 1, inputChannels % groups == 0, filters % groups == 0 else {
            throw DeconvError(.shapeMismatch,
                              "\(name): groups = \(groups) must be >= 1 and divide input channels \(inputChannels) and filters \(filters)")
        }
        let k = try kernelExtents()
        return transposed ? k + [filters, inputChannels] : k + [inputChannels / groups, filters]
    }

    /// Checks an activation shape's rank and returns its channel count.
    func inputChannels(of shape: [Int]) throws -> Int {
        guard shape.count == spatialRank + 2 else {
            throw DeconvError(.invalidShape, "\(name) expects rank \(spatialRank + 2) input, got shape \(shape)")
        }
        return shape[dataFormat.channelAxis(rank: shape.count)]
    }

    /// Output shape for an input shape, with Keras' rules (transposed: deconv_output_length,
    /// including output_padding).
    func outputShape(for inputShape: [Int]) throws -> [Int] {
        let channels = try inputChannels(of: inputShape)
        let kernelShape = try kernelShape(inputChannels: channels)
        guard transposed else {
            return try convOutputShape(inputShape: inputShape, filterShape: kernelShape, strides: strides,
                                       padding: padding, dataFormat: dataFormat, dilations: dilation).shape
        }
        let rank = inputShape.count
        let k = try kernelExtents()
        let s = try strides.resolve(spatialRank: spatialRank, layout: dataFormat, name: "strides")
        let d = try dilation.resolve(spatialRank: spatialRank, layout: dataFormat, name: "dilation")
        let op = try outputPadding?.resolve(spatialRank: spatialRank, layout: dataFormat, name: "outputPadding",
                                            allowFullLength: false)
        var shape = inputShape
        shape[dataFormat.channelAxis(rank: rank)] = filters
        for i in 0..<spatialRank {
            let axis = dataFormat.spatialAxis(i, rank: rank)
            shape[axis] = try kerasConvTransposeOutputSize(
                inputSize: inputShape[axis], kernelSize: k[i], stride: try toInt(s[i], "strides"),
                dilation: try toInt(d[i], "dilation"), padding: padding,
                outputPadding: try op.map { try toInt($0[i], "outputPadding") })
        }
        return shape
    }

    /// Creates Glorot-uniform kernel and zero bias if not set; checks set weights fit; with
    /// `prepare`, prepares the weights for `inputShape` unless they already are.
    mutating func build(inputShape: [Int], fallbackSeed: UInt64, prepare: Bool) throws -> [Int] {
        let output = try outputShape(for: inputShape)
        let shape = try kernelShape(inputChannels: try inputChannels(of: inputShape))
        if let kernel {
            guard kernel.shape == shape else {
                throw DeconvError(.shapeMismatch, "\(name): kernel shape \(kernel.shape) does not fit input \(inputShape); expected \(shape)")
            }
        } else {
            kernel = try glorotUniform(shape: shape, seed: seed ?? fallbackSeed)
        }
        if useBias, bias == nil { bias = try Tensor(zeros: [filters]) }
        // prepared is nil or for builtInputShape with the current kernel (setWeights remakes it)
        if prepare, prepared == nil || builtInputShape != inputShape {
            builtInputShape = inputShape
            self.prepare()
        }
        return output
    }

    /// Prepares the weights for `builtInputShape`, or leaves `prepared` nil when there is no
    /// kernel or build yet, or when preparing fails: runs then take the one-shot op, which
    /// reports the same error as preparing would.
    mutating func prepare() {
        prepared = nil
        guard let kernel, let shape = builtInputShape else { return }
        if transposed {
            prepared = try? PreparedConv(transposeInputShape: shape, filters: kernel,
                                         outputShape: outputShape(for: shape), strides: strides,
                                         padding: padding, dataFormat: dataFormat, dilations: dilation,
                                         activation: activation)
        } else {
            prepared = try? PreparedConv(convInputShape: shape, filters: kernel, strides: strides,
                                         padding: padding, dataFormat: dataFormat, dilations: dilation,
                                         activation: activation)
        }
    }

    /// Sets weights after checking them against the settings (input channels are checked when
    /// the layer is built or run).
    mutating func setWeights(kernel newKernel: Tensor, bias newBias: Tensor?) throws {
        let k = try kernelExtents()
        let rank = spatialRank + 2
        guard newKernel.rank == rank, Array(newKernel.shape.prefix(spatialRank)) == k,
              newKernel.shape[transposed ? rank - 2 : rank - 1] == filters else {
            let form = transposed ? "[\(k.map(String.init).joined(separator: ", ")), \(filters), in]"
                                  : "[\(k.map(String.init).joined(separator: ", ")), in / groups, \(filters)]"
            throw DeconvError(.shapeMismatch, "\(name): kernel shape \(newKernel.shape) is not \(form)")
        }
        if useBias {
            guard let newBias, newBias.shape == [filters] else {
                throw DeconvError(.shapeMismatch, "\(name): bias must have shape [\(filters)], got \(newBias?.shape.description ?? "none")")
            }
        } else if newBias != nil {
            throw DeconvError(.invalidArgument, "\(name) was created with useBias: false and takes no bias")
        }
        kernel = newKernel
        bias = useBias ? newBias : nil
        prepare()
    }

    func forward(_ input: Tensor, context: ExecutionContext?) throws -> Tensor {
        guard let kernel else {
            throw DeconvError(.invalidArgument,
                              "\(name) has no weights yet: build(inputShape:) it, set its weights, or use it in Sequential(inputShape:)")
        }
        if let prepared, input.shape == prepared.inputShape, input.layout == prepared.dataFormat {
            return try prepared(input, bias: bias, context: context)
        }
        let dataFormat = self.dataFormat
        if transposed {
            return try transposedConvolution(spatialRank: spatialRank, input, filters: kernel,
                                             outputShape: try outputShape(for: input.shape), strides: strides,
                                             padding: padding, dataFormat: dataFormat, dilations: dilation,
                                             bias: bias, activation: activation, context: context)
        }
        return try convolution(spatialRank: spatialRank, input, filters: kernel, strides: strides, padding: padding,
                               dataFormat: dataFormat, dilations: dilation, bias: bias, activation: activation,
                               context: context)
    }
}

/// Keras' GlorotUniform for a conv kernel: uniform in ±sqrt(6 / (fan_in + fan_out)) with
/// fan_in = receptive field * shape[-2] and fan_out = receptive field * shape[-1]. The values
/// come from this package's seeded generator, so they are reproducible but not Keras' own.
func glorotUniform(shape: [Int], seed: UInt64) throws -> Tensor {
    let receptive = shape.dropLast(2).reduce(1.0) { $0 * Double($1) }
    let fanIn = receptive * Double(shape[shape.count - 2])
    let fanOut = receptive * Double(shape[shape.count - 1])
    let limit = fanIn + fanOut > 0 ? Float((6.0 / (fanIn + fanOut)).squareRoot()) : 0
    return try Tensor(randomUniform: shape, in: -limit...limit, seed: seed)
}
