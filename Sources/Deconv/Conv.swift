internal import CDeconv

/// `tf.nn.conv1d` (+ bias + activation): input `[N, W, C]` (or `[N, C, W]`), filters
/// `[k, C / groups, OC]`. `groups` is derived as TF does: `C / filters in-dim`.
///
/// - Parameters:
///   - input: the activations, in `dataFormat`.
///   - filters: TF layout `[k, C / groups, OC]`.
///   - strides: one value or one per spatial dim (TF's full form accepted).
///   - padding: `.valid`, `.same` or `.explicit`.
///   - dataFormat: restates the input's layout (nil: use it); a contradiction throws.
///   - dilations: one value or one per spatial dim.
///   - bias: `OC` values added before the activation, or nil.
///   - activation: fused after the bias.
///   - context: threads to run on; nil runs on the calling thread.
/// - Throws: `DeconvError` with the status libdeconv reports.
public func conv1d(_ input: Tensor, filters: Tensor, strides: PerDim = 1, padding: Padding = .valid,
                   dataFormat: DataFormat? = nil, dilations: PerDim = 1, bias: Tensor? = nil,
                   activation: Activation = .none, context: ExecutionContext? = nil) throws -> Tensor {
    try convolution(spatialRank: 1, input, filters: filters, strides: strides, padding: padding,
                    dataFormat: dataFormat, dilations: dilations, bias: bias, activation: activation,
                    context: context)
}

/// `tf.nn.conv2d` (+ bias + activation): input `[N, H, W, C]` (or `[N, C, H, W]`), filters
/// `[kh, kw, C / groups, OC]`. Parameters as `conv1d`.
public func conv2d(_ input: Tensor, filters: Tensor, strides: PerDim = 1, padding: Padding = .valid,
                   dataFormat: DataFormat? = nil, dilations: PerDim = 1, bias: Tensor? = nil,
                   activation: Activation = .none, context: ExecutionContext? = nil) throws -> Tensor {
    try convolution(spatialRank: 2, input, filters: filters, strides: strides, padding: padding,
                    dataFormat: dataFormat, dilations: dilations, bias: bias, activation: activation,
                    context: context)
}

/// `tf.nn.conv3d` (+ bias + activation): input `[N, D, H, W, C]` (or `[N, C, D, H, W]`),
/// filters `[kd, kh, kw, C / groups, OC]`. Parameters as `conv1d`.
public func conv3d(_ input: Tensor, filters: Tensor, strides: PerDim = 1, padding: Padding = .valid,
                   dataFormat: DataFormat? = nil, dilations: PerDim = 1, bias: Tensor? = nil,
                   activation: Activation = .none, context: ExecutionContext? = nil) throws -> Tensor {
    try convolution(spatialRank: 3, input, filters: filters, strides: strides, padding: padding,
                    dataFormat: dataFormat, dilations: dilations, bias: bias, activation: activation,
                    context: context)
}

/// The conv of any spatial rank: ask C for the output shape, allocate, run.
func convolution(spatialRank: Int, _ input: Tensor, filters: Tensor, strides: PerDim, padding: Padding,
                 dataFormat: DataFormat?, dilations: PerDim, bias: Tensor?, activation: Activation,
                 context: ExecutionContext?) throws -> Tensor {
    let layout = try resolveLayout(dataFormat, of: input)
    var params = try convParams(spatialRank: spatialRank, layout: layout, padding: padding,
                                strides: strides, dilations: dilations, activation: activation)
    var inputShape = try cShape(input.shape, name: "input")
    var filterShape = try cShape(filters.shape, name: "filters")
    var outShape = deconv_shape()
    try check { deconv_conv_output_shape(&params, &inputShape, &filterShape, &outShape, nil, $0) }
    let shape = try swiftShape(outShape, name: "output")
    var output = try makeArray(repeating: Float(0), count: try elementCount(of: shape, name: "output"))
    let biasScalars = bias?.scalars ?? []
    try input.scalars.withUnsafeBufferPointer { x in
        try filters.scalars.withUnsafeBufferPointer { w in
            try biasScalars.withUnsafeBufferPointer { b in
                try output.withUnsafeMutableBufferPointer { y in
                    try check {
                        deconv_conv(context.cHandle, &params, &inputShape, x.baseAddress, Int64(x.count),
                                    &filterShape, w.baseAddress, Int64(w.count),
                                    b.baseAddress, Int64(b.count), y.baseAddress, Int64(y.count), $0)
                    }
                }
            }
        }
    }
    return Tensor(validatedShape: shape, scalars: output, layout: layout)
}
