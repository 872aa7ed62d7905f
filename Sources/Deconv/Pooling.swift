internal import CDeconv

/// `tf.nn.max_pool` for 1 to 3 spatial dims (the rank of `input` decides): input
/// `[N, spatial..., C]` (or channels-first), windows of `ksize` moved by `strides`. Padding
/// cells never win; a NaN in a window makes its result NaN.
///
/// - Parameters:
///   - input: rank 3, 4 or 5, in `dataFormat`.
///   - ksize: window extent, one value or one per spatial dim (TF's full form accepted).
///   - strides: one value or one per spatial dim (TF's full form accepted).
///   - padding: `.valid`, `.same` or `.explicit` (each pad smaller than the window).
///   - dataFormat: restates the input's layout (nil: use it); a contradiction throws.
///   - context: threads to run on; nil runs on the calling thread.
public func maxPool(_ input: Tensor, ksize: PerDim, strides: PerDim, padding: Padding = .valid,
                    dataFormat: DataFormat? = nil, context: ExecutionContext? = nil) throws -> Tensor {
    try pool(input, ksize: ksize, strides: strides, padding: padding, dataFormat: dataFormat,
             countIncludePad: false, context: context) { ctx, p, s, x, xc, y, yc, e in
        deconv_max_pool(ctx, p, s, x, xc, y, yc, e)
    }
}

/// `tf.nn.avg_pool` for 1 to 3 spatial dims. Padding cells are left out of the divisor (TF,
/// Keras) unless `countIncludePad` is set (PyTorch's default). Other parameters as `maxPool`.
public func avgPool(_ input: Tensor, ksize: PerDim, strides: PerDim, padding: Padding = .valid,
                    dataFormat: DataFormat? = nil, countIncludePad: Bool = false,
                    context: ExecutionContext? = nil) throws -> Tensor {
    try pool(input, ksize: ksize, strides: strides, padding: padding, dataFormat: dataFormat,
             countIncludePad: countIncludePad, context: context) { ctx, p, s, x, xc, y, yc, e in
        deconv_avg_pool(ctx, p, s, x, xc, y, yc, e)
    }
}

/// `tf.nn.max_pool_with_argmax`, for every rank and data format: the pooled values and, for
/// each, TF's flat index of its maximum in the channels-last input
/// (`((b * H + y) * W + x) * C + c` in 2-D; the batch term only with `includeBatchInIndex`).
/// The first maximum in window order wins ties. Other parameters as `maxPool`.
public func maxPoolWithArgmax(_ input: Tensor, ksize: PerDim, strides: PerDim, padding: Padding = .valid,
                              dataFormat: DataFormat? = nil, includeBatchInIndex: Bool = false,
                              context: ExecutionContext? = nil) throws -> (output: Tensor, argmax: IndexTensor) {
    let layout = try resolveLayout(dataFormat, of: input)
    let spatialRank = try poolSpatialRank(of: input)
    var params = try poolParams(spatialRank: spatialRank, layout: layout, ksize: ksize, strides: strides,
                                padding: padding, includeBatchInIndex: includeBatchInIndex)
    var inputShape = try cShape(input.shape, name: "input")
    let shape = try pooledShape(&params, &inputShape)
    let count = try elementCount(of: shape, name: "output")
    var output = try makeArray(repeating: Float(0), count: count)
    var argmax = try makeArray(repeating: Int64(0), count: count)
    try input.scalars.withUnsafeBufferPointer { x in
        try output.withUnsafeMutableBufferPointer { y in
            try argmax.withUnsafeMutableBufferPointer { a in
                try check {
                    deconv_max_pool_with_argmax(context.cHandle, &params, &inputShape, x.baseAddress,
                                                Int64(x.count), y.baseAddress, Int64(y.count),
                                                a.baseAddress, Int64(a.count), $0)
                }
            }
        }
    }
    return (Tensor(validatedShape: shape, scalars: output, layout: layout),
            IndexTensor(validatedShape: shape, indices: argmax, layout: layout))
}

/// The C signature shared by max_pool and avg_pool.
typealias PoolFunction = (OpaquePointer?, UnsafePointer<deconv_pool_params>, UnsafePointer<deconv_shape>,
                          UnsafePointer<Float>?, Int64, UnsafeMutablePointer<Float>?, Int64,
                          UnsafeMutablePointer<deconv_error>) -> deconv_status

/// max_pool / avg_pool: ask C for the output shape, allocate, run.
func pool(_ input: Tensor, ksize: PerDim, strides: PerDim, padding: Padding, dataFormat: DataFormat?,
          countIncludePad: Bool, context: ExecutionContext?, _ function: PoolFunction) throws -> Tensor {
    let layout = try resolveLayout(dataFormat, of: input)
    let spatialRank = try poolSpatialRank(of: input)
    var params = try poolParams(spatialRank: spatialRank, layout: layout, ksize: ksize, strides: strides,
                                padding: padding, countIncludePad: countIncludePad)
    var inputShape = try cShape(input.shape, name: "input")
    let shape = try pooledShape(&params, &inputShape)
    var output = try makeArray(repeating: Float(0), count: try elementCount(of: shape, name: "output"))
    try input.scalars.withUnsafeBufferPointer { x in
        try output.withUnsafeMutableBufferPointer { y in
            try check {
                function(context.cHandle, &params, &inputShape, x.baseAddress, Int64(x.count),
                         y.baseAddress, Int64(y.count), $0)
            }
        }
    }
    return Tensor(validatedShape: shape, scalars: output, layout: layout)
}

/// The pooled shape C computes for these params.
func pooledShape(_ params: inout deconv_pool_params, _ input: inout deconv_shape) throws -> [Int] {
    var out = deconv_shape()
    try check { deconv_pool_output_shape(&params, &input, &out, nil, $0) }
    return try swiftShape(out, name: "output")
}
