internal import CDeconv

/// Spatial rank implied by an activation shape of rank 3, 4 or 5.
private func spatialRank(of shape: [Int], name: String) throws -> Int {
    guard (3...5).contains(shape.count) else {
        throw DeconvError(.invalidShape, "\(name) has rank \(shape.count); expected 3, 4 or 5 (1 to 3 spatial dims)")
    }
    return shape.count - 2
}

/// The output shape of `conv1d/2d/3d` for these shapes and settings (the spatial rank follows
/// from `inputShape`), and the `(before, after)` pad it applies to each spatial dim.
public func convOutputShape(inputShape: [Int], filterShape: [Int], strides: PerDim = 1,
                            padding: Padding = .valid, dataFormat: DataFormat = .channelsLast,
                            dilations: PerDim = 1) throws -> (shape: [Int], pads: [(before: Int, after: Int)]) {
    let rank = try spatialRank(of: inputShape, name: "inputShape")
    var params = try convParams(spatialRank: rank, layout: dataFormat, padding: padding, strides: strides,
                                dilations: dilations, activation: .none)
    var input = try cShape(inputShape, name: "inputShape")
    var filter = try cShape(filterShape, name: "filterShape")
    var output = deconv_shape()
    var pads = [Int64](repeating: 0, count: 2 * Int(DECONV_MAX_SPATIAL))
    try pads.withUnsafeMutableBufferPointer { p in
        try check { deconv_conv_output_shape(&params, &input, &filter, &output, p.baseAddress, $0) }
    }
    return (try swiftShape(output, name: "output"), try padPairs(pads, spatialRank: rank))
}

/// The output sizes a transposed conv accepts, one closed range per spatial dim: exactly
/// `stride` sizes each (TF's rule). SAME: `(in - 1) * s + 1 ... in * s`; VALID:
/// `(in - 1) * s + k_eff ... (in - 1) * s + k_eff + s - 1`; EXPLICIT: the VALID range shifted
/// by `-(before + after)`, which may start below 0 (only sizes >= 0 are usable).
/// `inputShape` is the transposed conv's input, `filterShape` `[k..., OC / groups, IC]`.
public func convTransposeOutputSizes(inputShape: [Int], filterShape: [Int], strides: PerDim = 1,
                                     padding: Padding = .valid, dataFormat: DataFormat = .channelsLast,
                                     dilations: PerDim = 1) throws -> [ClosedRange<Int>] {
    let rank = try spatialRank(of: inputShape, name: "inputShape")
    var params = try convParams(spatialRank: rank, layout: dataFormat, padding: padding, strides: strides,
                                dilations: dilations, activation: .none)
    var input = try cShape(inputShape, name: "inputShape")
    var filter = try cShape(filterShape, name: "filterShape")
    var low = [Int64](repeating: 0, count: Int(DECONV_MAX_SPATIAL))
    var high = low
    try low.withUnsafeMutableBufferPointer { lo in
        try high.withUnsafeMutableBufferPointer { hi in
            try check {
                deconv_conv_transpose_output_range(&params, &input, &filter, lo.baseAddress, hi.baseAddress, $0)
            }
        }
    }
    return try (0..<rank).map { i in
        let lo = try toInt(low[i], "min size"), hi = try toInt(high[i], "max size")
        guard lo <= hi else {
            throw DeconvError(.outputSize, "spatial dim \(i) accepts no output size (\(lo) > \(hi))")
        }
        return lo...hi
    }
}

/// Validates a transposed conv's `outputShape` exactly as `conv2dTranspose` and its siblings do,
/// and returns the forward `(before, after)` pads it implies per spatial dim (`before` is the
/// shift applied to the full result).
public func convTransposePads(inputShape: [Int], filterShape: [Int], outputShape: [Int],
                              strides: PerDim = 1, padding: Padding = .valid,
                              dataFormat: DataFormat = .channelsLast,
                              dilations: PerDim = 1) throws -> [(before: Int, after: Int)] {
    let rank = try spatialRank(of: inputShape, name: "inputShape")
    var params = try convParams(spatialRank: rank, layout: dataFormat, padding: padding, strides: strides,
                                dilations: dilations, activation: .none)
    var input = try cShape(inputShape, name: "inputShape")
    var filter = try cShape(filterShape, name: "filterShape")
    var output = try cShape(outputShape, name: "outputShape")
    var pads = [Int64](repeating: 0, count: 2 * Int(DECONV_MAX_SPATIAL))
    try pads.withUnsafeMutableBufferPointer { p in
        try check { deconv_conv_transpose_pads(&params, &input, &filter, &output, p.baseAddress, $0) }
    }
    return try padPairs(pads, spatialRank: rank)
}

/// The output shape of `maxPool` / `avgPool` / `maxPoolWithArgmax` and the pads they apply.
public func poolOutputShape(inputShape: [Int], ksize: PerDim, strides: PerDim, padding: Padding = .valid,
                            dataFormat: DataFormat = .channelsLast) throws
    -> (shape: [Int], pads: [(before: Int, after: Int)]) {
    let rank = try spatialRank(of: inputShape, name: "inputShape")
    var params = try poolParams(spatialRank: rank, layout: dataFormat, ksize: ksize, strides: strides,
                                padding: padding)
    var input = try cShape(inputShape, name: "inputShape")
    var output = deconv_shape()
    var pads = [Int64](repeating: 0, count: 2 * Int(DECONV_MAX_SPATIAL))
    try pads.withUnsafeMutableBufferPointer { p in
        try check { deconv_pool_output_shape(&params, &input, &output, p.baseAddress, $0) }
    }
    return (try swiftShape(output, name: "output"), try padPairs(pads, spatialRank: rank))
}

/// Keras' default output size of one spatial dim of `ConvNDTranspose`
/// (`deconv_output_length`). Without `outputPadding`: SAME `in * s`, VALID
/// `in * s + max(k_eff - s, 0)`. With `0 <= outputPadding < stride`: SAME
/// `(in - 1) * s + k_eff % 2 + outputPadding`, VALID `(in - 1) * s + k_eff + outputPadding`.
/// `.explicit` is not a Keras mode (`.invalidEnum`); `outputPadding >= stride` is
/// `.invalidArgument`, as Keras.
public func kerasConvTransposeOutputSize(inputSize: Int, kernelSize: Int, stride: Int, dilation: Int = 1,
                                         padding: Padding, outputPadding: Int? = nil) throws -> Int {
    let mode: deconv_padding
    switch padding {
    case .valid: mode = DECONV_PADDING_VALID
    case .same: mode = DECONV_PADDING_SAME
    case .explicit: mode = DECONV_PADDING_EXPLICIT
    }
    if let outputPadding, outputPadding < 0 {
        throw DeconvError(.invalidArgument, "outputPadding = \(outputPadding) is negative")
    }
    let input = try toInt64(inputSize, "inputSize"), kernel = try toInt64(kernelSize, "kernelSize")
    let s = try toInt64(stride, "stride"), d = try toInt64(dilation, "dilation")
    let op = try outputPadding.map { try toInt64($0, "outputPadding") } ?? -1
    var size: Int64 = 0
    try check { deconv_keras_conv_transpose_size(input, kernel, s, d, mode, op, &size, $0) }
    return try toInt(size, "output size")
}
