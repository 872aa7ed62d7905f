internal import CDeconv

/// `tf.nn.conv1d_transpose` (+ bias + activation), the gradient of `conv1d` with respect to
/// its input. input `[N, W, IC]`, filters `[k, OC / groups, IC]`, `outputShape` the full
/// `[N, W_out, OC]` (the forward conv's input shape) in the same data format.
///
/// `outputShape` is accepted iff the forward conv maps it back onto the input, as TF: exactly
/// `stride` sizes per dim (see `convTransposeOutputSizes`). Anything else throws
/// `.invalidOutputShape` naming the dim and the accepted range. Other parameters as `conv1d`.
public func conv1dTranspose(_ input: Tensor, filters: Tensor, outputShape: [Int], strides: PerDim = 1,
                            padding: Padding = .valid, dataFormat: DataFormat? = nil,
                            dilations: PerDim = 1, bias: Tensor? = nil, activation: Activation = .none,
                            context: ExecutionContext? = nil) throws -> Tensor {
    try transposedConvolution(spatialRank: 1, input, filters: filters, outputShape: outputShape,
                              strides: strides, padding: padding, dataFormat: dataFormat,
                              dilations: dilations, bias: bias, activation: activation, context: context)
}

/// `tf.nn.conv2d_transpose` (+ bias + activation): input `[N, H, W, IC]`, filters
/// `[kh, kw, OC / groups, IC]`, `outputShape` `[N, H_out, W_out, OC]` (or the channels-first
/// forms). With SAME padding and stride s, `H_out` may be any of `(H - 1) * s + 1 ... H * s`;
/// the transposed op pads more at the top/left, exactly as TF. See `conv1dTranspose`.
public func conv2dTranspose(_ input: Tensor, filters: Tensor, outputShape: [Int], strides: PerDim = 1,
                            padding: Padding = .valid, dataFormat: DataFormat? = nil,
                            dilations: PerDim = 1, bias: Tensor? = nil, activation: Activation = .none,
                            context: ExecutionContext? = nil) throws -> Tensor {
    try transposedConvolution(spatialRank: 2, input, filters: filters, outputShape: outputShape,
                              strides: strides, padding: padding, dataFormat: dataFormat,
                              dilations: dilations, bias: bias, activation: activation, context: context)
}

/// `tf.nn.conv3d_transpose` (+ bias + activation): input `[N, D, H, W, IC]`, filters
/// `[kd, kh, kw, OC / groups, IC]`, `outputShape` `[N, D_out, H_out, W_out, OC]` (or the
/// channels-first forms). See `conv1dTranspose`.
public func conv3dTranspose(_ input: Tensor, filters: Tensor, outputShape: [Int], strides: PerDim = 1,
                            padding: Padding = .valid, dataFormat: DataFormat? = nil,
                            dilations: PerDim = 1, bias: Tensor? = nil, activation: Activation = .none,
                            context: ExecutionContext? = nil) throws -> Tensor {
    try transposedConvolution(spatialRank: 3, input, filters: filters, outputShape: outputShape,
                              strides: strides, padding: padding, dataFormat: dataFormat,
                              dilations: dilations, bias: bias, activation: activation, context: context)
}

/// The transposed conv of any spatial rank.
func transposedConvolution(spatialRank: Int, _ input: Tensor, filters: Tensor, outputShape: [Int],
                           strides: PerDim, padding: Padding, dataFormat: DataFormat?, dilations: PerDim,
                           bias: Tensor?, activation: Activation,
                           context: ExecutionContext?) throws -> Tensor {
    let layout = try resolveLayout(dataFormat, of: input)
    var params = try convParams(spatialRank: spatialRank, layout: layout, padding: padding,
                                strides: strides, dilations: dilations, activation: activation)
    var inputShape = try cShape(input.shape, name: "input")
    var filterShape = try cShape(filters.shape, name: "filters")
    var outShape = try cShape(outputShape, name: "outputShape")
    let biasScalars = bias?.scalars ?? []

    func run(_ y: UnsafeMutableBufferPointer<Float>) throws {
        try input.scalars.withUnsafeBufferPointer { x in
            try filters.scalars.withUnsafeBufferPointer { w in
                try biasScalars.withUnsafeBufferPointer { b in
                    try check {
                        deconv_conv_transpose(context.cHandle, &params, &inputShape, x.baseAddress,
                                              Int64(x.count), &filterShape, w.baseAddress, Int64(w.count),
                                              b.baseAddress, Int64(b.count), &outShape, y.baseAddress,
                                              Int64(y.count), $0)
                    }
                }
            }
        }
    }

    let count = try outputCount(outputShape, name: "outputShape") {
        try run(UnsafeMutableBufferPointer(start: nil, count: 0))
    }
    if count > largeOutputCount {
        // Validate outputShape as the op does before allocating a large buffer for it.
        var pads = [Int64](repeating: 0, count: 2 * Int(DECONV_MAX_SPATIAL))
        try pads.withUnsafeMutableBufferPointer { p in
            try check { deconv_conv_transpose_pads(&params, &inputShape, &filterShape, &outShape, p.baseAddress, $0) }
        }
    }
    var output = try makeArray(repeating: Float(0), count: count)
    try output.withUnsafeMutableBufferPointer { try run($0) }
    return Tensor(validatedShape: outputShape, scalars: output, layout: layout)
}
