/// Keras' `MaxPooling1D/2D/3D` in one layer (the input's rank picks 1 to 3 spatial dims).
/// Inside a `Sequential` it also records its argmax indices and input shape for the
/// `MaxUnpool` paired with it.
public struct MaxPool: Layer {
    /// Window extent, one value or one per spatial dim.
    public var poolSize: PerDim
    /// Window step; Keras' default is `poolSize`.
    public var strides: PerDim
    /// `.valid` (Keras' default), `.same` or `.explicit`.
    public var padding: Padding
    /// The input's data format.
    public var dataFormat: DataFormat
    let identity = PoolIdentity()

    /// - Parameters:
    ///   - poolSize: window extent (Keras' default 2).
    ///   - strides: window step; nil means `poolSize`, as Keras.
    ///   - padding: `.valid`, `.same` or `.explicit`.
    ///   - dataFormat: the input's data format.
    public init(poolSize: PerDim = 2, strides: PerDim? = nil, padding: Padding = .valid,
                dataFormat: DataFormat = .channelsLast) {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        self.dataFormat = dataFormat
    }

    /// Records the input shape for a paired `MaxUnpool` and returns the pooled shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        state.pools[identity.key] = .init(inputShape: inputShape, argmax: nil)
        return try poolOutputShape(inputShape: inputShape, ksize: poolSize, strides: strides, padding: padding,
                                   dataFormat: dataFormat).shape
    }

    /// Max-pools `input`, recording the indices for a paired `MaxUnpool`.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        let (output, argmax) = try withIndices(input, context: context)
        state.pools[identity.key] = .init(inputShape: input.shape, argmax: argmax)
        return output
    }

    /// The pooled tensor and its argmax indices (TF's `max_pool_with_argmax`), for a
    /// `MaxUnpool` used outside a `Sequential`.
    public func withIndices(_ input: Tensor, context: ExecutionContext? = nil) throws
        -> (output: Tensor, argmax: IndexTensor) {
        try maxPoolWithArgmax(input, ksize: poolSize, strides: strides, padding: padding,
                              dataFormat: dataFormat, context: context)
    }
}

/// Keras' `AveragePooling1D/2D/3D` in one layer: padding cells are left out of each
/// window's divisor, as TF and Keras.
public struct AvgPool: Layer {
    /// Window extent, one value or one per spatial dim.
    public var poolSize: PerDim
    /// Window step; Keras' default is `poolSize`.
    public var strides: PerDim
    /// `.valid` (Keras' default), `.same` or `.explicit`.
    public var padding: Padding
    /// The input's data format.
    public var dataFormat: DataFormat

    /// Same parameters as `MaxPool`.
    public init(poolSize: PerDim = 2, strides: PerDim? = nil, padding: Padding = .valid,
                dataFormat: DataFormat = .channelsLast) {
        self.poolSize = poolSize
        self.strides = strides ?? poolSize
        self.padding = padding
        self.dataFormat = dataFormat
    }

    /// Returns the pooled shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        try poolOutputShape(inputShape: inputShape, ksize: poolSize, strides: strides, padding: padding,
                            dataFormat: dataFormat).shape
    }

    /// Average-pools `input`.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        try avgPool(input, ksize: poolSize, strides: strides, padding: padding, dataFormat: dataFormat,
                    context: context)
    }
}

/// Max unpooling paired with the `MaxPool` layer whose indices it uses: each value goes back to
/// the position its maximum came from, in a zero tensor of the pool's input shape (the
/// gradient of max pooling). Inside a `Sequential` the pairing is automatic; on its own, call
/// `unpool(_:argmax:outputShape:)` with `MaxPool.withIndices`' results.
public struct MaxUnpool: Layer {
    /// The pooling layer this one undoes.
    public let pool: MaxPool

    /// Pairs the unpooling layer with `pool`, which must run before it in the same
    /// `Sequential`.
    public init(pairedWith pool: MaxPool) { self.pool = pool }

    /// Returns the paired pool's recorded input shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        try record(in: state).inputShape
    }

    /// Unpools with the indices the paired pool recorded in this run.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        let record = try record(in: state)
        guard let argmax = record.argmax else {
            throw DeconvError(.invalidArgument, "MaxUnpool: its MaxPool has not run before it")
        }
        return try unpool(input, argmax: argmax, outputShape: record.inputShape, context: context)
    }

    /// Max-unpools `input` with explicit indices and output shape (the paired pool's input shape).
    public func unpool(_ input: Tensor, argmax: IndexTensor, outputShape: [Int],
                       context: ExecutionContext? = nil) throws -> Tensor {
        try maxUnpool(input, argmax: argmax, outputShape: outputShape, ksize: pool.poolSize, strides: pool.strides,
                      padding: pool.padding, dataFormat: pool.dataFormat, context: context)
    }

    private func record(in state: LayerState) throws -> LayerState.PoolRecord {
        guard let record = state.pools[pool.identity.key] else {
            throw DeconvError(.invalidArgument,
                              "MaxUnpool: its paired MaxPool is not earlier in this model, so there are no indices to unpool with")
        }
        return record
    }
}
