internal import CDeconv

/// Max unpooling: a zero tensor of `outputShape` (the pooled tensor's pre-pool shape) with
/// every value of `input` added at its `argmax` position; duplicates sum. This equals TF's
/// `MaxPoolGradWithArgmax`, the gradient of max pooling.
///
/// `argmax`, `ksize`, `strides`, `padding` and `includeBatchInIndex` must be those of the
/// `maxPoolWithArgmax` call that produced `input`; `outputShape` must pool back onto `input`'s
/// shape (`.invalidOutputShape` otherwise). Every index is bounds-checked before anything is
/// written (`.indexOutOfRange`).
public func maxUnpool(_ input: Tensor, argmax: IndexTensor, outputShape: [Int], ksize: PerDim,
                      strides: PerDim, padding: Padding = .valid, dataFormat: DataFormat? = nil,
                      includeBatchInIndex: Bool = false, context: ExecutionContext? = nil) throws -> Tensor {
    let layout = try resolveLayout(dataFormat, of: input)
    let spatialRank = try poolSpatialRank(of: input)
    var params = try poolParams(spatialRank: spatialRank, layout: layout, ksize: ksize, strides: strides,
                                padding: padding, includeBatchInIndex: includeBatchInIndex)
    var inputShape = try cShape(input.shape, name: "input")
    var outShape = try cShape(outputShape, name: "outputShape")
    func run(_ y: UnsafeMutableBufferPointer<Float>) throws {
        try input.scalars.withUnsafeBufferPointer { x in
            try argmax.indices.withUnsafeBufferPointer { a in
                try check {
                    deconv_max_unpool(context.cHandle, &params, &inputShape, x.baseAddress, Int64(x.count),
                                      a.baseAddress, Int64(a.count), &outShape, y.baseAddress,
                                      Int64(y.count), $0)
                }
            }
        }
    }
    var output = try unpoolOutput(outputShape, input: input, params: params) {
        try run(UnsafeMutableBufferPointer(start: nil, count: 0))
    }
    try output.withUnsafeMutableBufferPointer { try run($0) }
    return Tensor(validatedShape: outputShape, scalars: output, layout: layout)
}

/// Average unpooling: a zero tensor of `outputShape` with each value of `input` added to
/// every valid cell of its window; with `normalize` divided by the window's count, which makes
/// it TF's `AvgPoolGrad` (the adjoint of `avgPool` with the same `countIncludePad`).
/// `outputShape` must pool back onto `input`'s shape. Other parameters as `maxUnpool`.
public func avgUnpool(_ input: Tensor, outputShape: [Int], ksize: PerDim, strides: PerDim,
                      padding: Padding = .valid, dataFormat: DataFormat? = nil, normalize: Bool = false,
                      countIncludePad: Bool = false, context: ExecutionContext? = nil) throws -> Tensor {
    let layout = try resolveLayout(dataFormat, of: input)
    let spatialRank = try poolSpatialRank(of: input)
    var params = try poolParams(spatialRank: spatialRank, layout: layout, ksize: ksize, strides: strides,
                                padding: padding, countIncludePad: countIncludePad, normalize: normalize)
    var inputShape = try cShape(input.shape, name: "input")
    var outShape = try cShape(outputShape, name: "outputShape")
    func run(_ y: UnsafeMutableBufferPointer<Float>) throws {
        try input.scalars.withUnsafeBufferPointer { x in
            try check {
                deconv_avg_unpool(context.cHandle, &params, &inputShape, x.baseAddress, Int64(x.count),
                                  &outShape, y.baseAddress, Int64(y.count), $0)
            }
        }
    }
    var output = try unpoolOutput(outputShape, input: input, params: params) {
        try run(UnsafeMutableBufferPointer(start: nil, count: 0))
    }
    try output.withUnsafeMutableBufferPointer { try run($0) }
    return Tensor(validatedShape: outputShape, scalars: output, layout: layout)
}

/// The zeroed buffer for an unpool output. A huge `outputShape` is first checked to pool back
/// onto the input, so a bogus one gets `.invalidOutputShape`, not an allocation failure.
func unpoolOutput(_ outputShape: [Int], input: Tensor, params: deconv_pool_params,
                  diagnose: () throws -> Void) throws -> [Float] {
    var params = params
    let count = try outputCount(outputShape, name: "outputShape", diagnose: diagnose)
    if count > largeOutputCount {
        var shape = try cShape(outputShape, name: "outputShape")
        let pooled = try pooledShape(&params, &shape)
        guard pooled == input.shape else {
            throw DeconvError(.invalidOutputShape,
                              "outputShape \(outputShape) pools to \(pooled), not to the input's \(input.shape)")
        }
    }
    return try makeArray(repeating: Float(0), count: count)
}
