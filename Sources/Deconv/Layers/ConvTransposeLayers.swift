// Keras-style transposed convolution layers: thin public faces over ConvLayerCore.

/// Keras' `Conv1DTranspose`: a 1-D transposed convolution layer over `[N, W, C]` input
/// (channels-last by default) with a `[k, filters, in]` kernel, Glorot-uniform initialised (seeded,
/// reproducible), a zero bias, and a fused activation. Output sizes follow Keras exactly,
/// including `outputPadding`; values are TF's `conv1d_transpose`.
public struct Conv1DTranspose: Layer {
    var core: ConvLayerCore

    /// - Parameters:
    ///   - filters: output channels.
    ///   - kernelSize: window extent, one value or one per spatial dim.
    ///   - strides: one value or one per spatial dim.
    ///   - padding: `.valid` (Keras' default) or `.same`.
    ///   - outputPadding: Keras' `output_padding` (each value < its stride); nil: absent.
    ///   - dilation: Keras' `dilation_rate`, one value or one per spatial dim.
    ///   - activation: fused after the bias.
    ///   - useBias: whether a bias (zero-initialised) is added.
    ///   - dataFormat: the input's data format.
    ///   - seed: the kernel initialiser's seed; nil takes the one given to `build`.
    public init(filters: Int, kernelSize: PerDim, strides: PerDim = 1, padding: Padding = .valid,
                outputPadding: PerDim? = nil, dilation: PerDim = 1, activation: Activation = .none,
                useBias: Bool = true, dataFormat: DataFormat = .channelsLast, seed: UInt64? = nil) {
        core = ConvLayerCore(spatialRank: 1, transposed: true, name: "Conv1DTranspose", filters: filters,
                             kernelSize: kernelSize, strides: strides, padding: padding,
                             outputPadding: outputPadding, dilation: dilation, groups: 1,
                             activation: activation, useBias: useBias, dataFormat: dataFormat, seed: seed)
    }

    /// The kernel (`[k, filters, in]`), nil until built or set.
    public var kernel: Tensor? { core.kernel }
    /// The bias (`[filters]`), nil until built or set, or when `useBias` is false.
    public var bias: Tensor? { core.bias }
    /// Output channels.
    public var filters: Int { core.filters }
    /// The fused activation.
    public var activation: Activation { core.activation }
    /// The input shape (batch included) whose runs use the weights packed once when the layer
    /// was built or its weights set (`PreparedConv`); runs on other shapes repack them per
    /// call. Nil before the layer is built.
    public var preparedInputShape: [Int]? { core.prepared?.inputShape }

    /// Sets the weights, e.g. ones trained elsewhere: the kernel must be `[k, filters, in]` and the
    /// bias `[filters]` (nil when `useBias` is false).
    public mutating func setWeights(kernel: Tensor, bias: Tensor?) throws {
        try core.setWeights(kernel: kernel, bias: bias)
    }

    /// Creates missing weights for `inputShape` and returns the output shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        try core.build(inputShape: inputShape, fallbackSeed: seed, prepare: !state.shapeOnly)
    }

    /// Runs the layer; throws if it has no weights yet.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        try core.forward(input, context: context)
    }
}

/// Keras' `Conv2DTranspose`: a 2-D transposed convolution layer over `[N, H, W, C]` input
/// (channels-last by default) with a `[kh, kw, filters, in]` kernel, Glorot-uniform initialised (seeded,
/// reproducible), a zero bias, and a fused activation. Output sizes follow Keras exactly,
/// including `outputPadding`; values are TF's `conv2d_transpose`.
public struct Conv2DTranspose: Layer {
    var core: ConvLayerCore

    /// - Parameters:
    ///   - filters: output channels.
    ///   - kernelSize: window extent, one value or one per spatial dim.
    ///   - strides: one value or one per spatial dim.
    ///   - padding: `.valid` (Keras' default) or `.same`.
    ///   - outputPadding: Keras' `output_padding` (each value < its stride); nil: absent.
    ///   - dilation: Keras' `dilation_rate`, one value or one per spatial dim.
    ///   - activation: fused after the bias.
    ///   - useBias: whether a bias (zero-initialised) is added.
    ///   - dataFormat: the input's data format.
    ///   - seed: the kernel initialiser's seed; nil takes the one given to `build`.
    public init(filters: Int, kernelSize: PerDim, strides: PerDim = 1, padding: Padding = .valid,
                outputPadding: PerDim? = nil, dilation: PerDim = 1, activation: Activation = .none,
                useBias: Bool = true, dataFormat: DataFormat = .channelsLast, seed: UInt64? = nil) {
        core = ConvLayerCore(spatialRank: 2, transposed: true, name: "Conv2DTranspose", filters: filters,
                             kernelSize: kernelSize, strides: strides, padding: padding,
                             outputPadding: outputPadding, dilation: dilation, groups: 1,
                             activation: activation, useBias: useBias, dataFormat: dataFormat, seed: seed)
    }

    /// The kernel (`[kh, kw, filters, in]`), nil until built or set.
    public var kernel: Tensor? { core.kernel }
    /// The bias (`[filters]`), nil until built or set, or when `useBias` is false.
    public var bias: Tensor? { core.bias }
    /// Output channels.
    public var filters: Int { core.filters }
    /// The fused activation.
    public var activation: Activation { core.activation }
    /// The input shape (batch included) whose runs use the weights packed once when the layer
    /// was built or its weights set (`PreparedConv`); runs on other shapes repack them per
    /// call. Nil before the layer is built.
    public var preparedInputShape: [Int]? { core.prepared?.inputShape }

    /// Sets the weights, e.g. ones trained elsewhere: the kernel must be `[kh, kw, filters, in]` and the
    /// bias `[filters]` (nil when `useBias` is false).
    public mutating func setWeights(kernel: Tensor, bias: Tensor?) throws {
        try core.setWeights(kernel: kernel, bias: bias)
    }

    /// Creates missing weights for `inputShape` and returns the output shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        try core.build(inputShape: inputShape, fallbackSeed: seed, prepare: !state.shapeOnly)
    }

    /// Runs the layer; throws if it has no weights yet.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        try core.forward(input, context: context)
    }
}

/// Keras' `Conv3DTranspose`: a 3-D transposed convolution layer over `[N, D, H, W, C]` input
/// (channels-last by default) with a `[kd, kh, kw, filters, in]` kernel, Glorot-uniform initialised (seeded,
/// reproducible), a zero bias, and a fused activation. Output sizes follow Keras exactly,
/// including `outputPadding`; values are TF's `conv3d_transpose`.
public struct Conv3DTranspose: Layer {
    var core: ConvLayerCore

    /// - Parameters:
    ///   - filters: output channels.
    ///   - kernelSize: window extent, one value or one per spatial dim.
    ///   - strides: one value or one per spatial dim.
    ///   - padding: `.valid` (Keras' default) or `.same`.
    ///   - outputPadding: Keras' `output_padding` (each value < its stride); nil: absent.
    ///   - dilation: Keras' `dilation_rate`, one value or one per spatial dim.
    ///   - activation: fused after the bias.
    ///   - useBias: whether a bias (zero-initialised) is added.
    ///   - dataFormat: the input's data format.
    ///   - seed: the kernel initialiser's seed; nil takes the one given to `build`.
    public init(filters: Int, kernelSize: PerDim, strides: PerDim = 1, padding: Padding = .valid,
                outputPadding: PerDim? = nil, dilation: PerDim = 1, activation: Activation = .none,
                useBias: Bool = true, dataFormat: DataFormat = .channelsLast, seed: UInt64? = nil) {
        core = ConvLayerCore(spatialRank: 3, transposed: true, name: "Conv3DTranspose", filters: filters,
                             kernelSize: kernelSize, strides: strides, padding: padding,
                             outputPadding: outputPadding, dilation: dilation, groups: 1,
                             activation: activation, useBias: useBias, dataFormat: dataFormat, seed: seed)
    }

    /// The kernel (`[kd, kh, kw, filters, in]`), nil until built or set.
    public var kernel: Tensor? { core.kernel }
    /// The bias (`[filters]`), nil until built or set, or when `useBias` is false.
    public var bias: Tensor? { core.bias }
    /// Output channels.
    public var filters: Int { core.filters }
    /// The fused activation.
    public var activation: Activation { core.activation }
    /// The input shape (batch included) whose runs use the weights packed once when the layer
    /// was built or its weights set (`PreparedConv`); runs on other shapes repack them per
    /// call. Nil before the layer is built.
    public var preparedInputShape: [Int]? { core.prepared?.inputShape }

    /// Sets the weights, e.g. ones trained elsewhere: the kernel must be `[kd, kh, kw, filters, in]` and the
    /// bias `[filters]` (nil when `useBias` is false).
    public mutating func setWeights(kernel: Tensor, bias: Tensor?) throws {
        try core.setWeights(kernel: kernel, bias: bias)
    }

    /// Creates missing weights for `inputShape` and returns the output shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        try core.build(inputShape: inputShape, fallbackSeed: seed, prepare: !state.shapeOnly)
    }

    /// Runs the layer; throws if it has no weights yet.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        try core.forward(input, context: context)
    }
}
