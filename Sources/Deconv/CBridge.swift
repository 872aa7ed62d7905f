internal import CDeconv

// Conversions between the Swift API's values and libdeconv's structs. Everything C cannot
// represent (a rank above 5, an Int that does not fit Int64, too many per-dim values) is
// rejected here; everything else is left for C to validate, so both languages report the same
// status for the same mistake.

/// Writes `values` into a homogeneous C array imported as a tuple of Int64.
private func fill<Tuple>(_ tuple: inout Tuple, with values: [Int64]) {
    withUnsafeMutableBytes(of: &tuple) { raw in
        let slots = raw.bindMemory(to: Int64.self)
        precondition(values.count <= slots.count, "internal: more values than C slots")
        for (i, v) in values.enumerated() { slots[i] = v }
    }
}

/// Reads the first `count` Int64 of a C array imported as a tuple.
private func read<Tuple>(_ tuple: Tuple, count: Int) -> [Int64] {
    withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: Int64.self).prefix(count)) }
}

/// A C shape from Swift dims; throws for a rank C cannot hold.
func cShape(_ dims: [Int], name: String) throws -> deconv_shape {
    guard dims.count <= Int(DECONV_MAX_RANK) else {
        throw DeconvError(.invalidShape, "\(name) has rank \(dims.count); at most \(DECONV_MAX_RANK) is supported")
    }
    var shape = deconv_shape()
    shape.rank = Int32(dims.count)
    fill(&shape.dims, with: try dims.enumerated().map { try toInt64($1, "\(name)[\($0)]") })
    return shape
}

/// Swift dims from a C shape the library filled.
func swiftShape(_ shape: deconv_shape, name: String) throws -> [Int] {
    let rank = max(0, min(Int(shape.rank), Int(DECONV_MAX_RANK)))
    return try read(shape.dims, count: rank).map { try toInt($0, name) }
}

/// Reads C pads `[before0, after0, ...]` as pairs.
func padPairs(_ pads: [Int64], spatialRank: Int) throws -> [(before: Int, after: Int)] {
    try (0..<spatialRank).map { (try toInt(pads[2 * $0], "pad"), try toInt(pads[2 * $0 + 1], "pad")) }
}

/// Reads a C pads array.
func readPads(_ pads: (Int64, Int64, Int64, Int64, Int64, Int64)) -> [Int64] { read(pads, count: 6) }

/// The layout an op runs in: the input's, which `dataFormat` may restate but not contradict.
func resolveLayout(_ dataFormat: DataFormat?, of input: Tensor) throws -> DataFormat {
    if let dataFormat, dataFormat != input.layout {
        throw DeconvError(.invalidArgument,
                          "dataFormat \(dataFormat) does not match the input's layout \(input.layout); "
                              + "create the tensor with layout: .\(dataFormat) or reshape it with that layout")
    }
    return input.layout
}

/// The spatial rank of a pooling input (rank - 2), which must be 1...3.
func poolSpatialRank(of input: Tensor, name: String = "input") throws -> Int {
    guard (3...5).contains(input.rank) else {
        throw DeconvError(.invalidShape,
                          "\(name) has rank \(input.rank); pooling needs rank 3, 4 or 5 (1 to 3 spatial dims)")
    }
    return input.rank - 2
}

extension DataFormat {
    var cLayout: deconv_layout { self == .channelsLast ? DECONV_CHANNELS_LAST : DECONV_CHANNELS_FIRST }
}

/// C padding mode and flat pads for `padding`.
func cPadding(_ padding: Padding, spatialRank: Int, layout: DataFormat) throws -> (deconv_padding, [Int64]) {
    switch padding {
    case .valid: return (DECONV_PADDING_VALID, [])
    case .same: return (DECONV_PADDING_SAME, [])
    case .explicit(let pairs):
        var spatial = pairs
        if pairs.count == spatialRank + 2 {
            let rank = spatialRank + 2
            for axis in [0, layout.channelAxis(rank: rank)] where pairs[axis] != (0, 0) {
                throw DeconvError(.invalidArgument,
                                  "explicit padding[\(axis)] = \(pairs[axis]): batch and channel pads must be (0, 0)")
            }
            spatial = (0..<spatialRank).map { pairs[layout.spatialAxis($0, rank: rank)] }
        } else if pairs.count != spatialRank {
            throw DeconvError(.invalidArgument,
                              "explicit padding has \(pairs.count) pairs; expected \(spatialRank) or \(spatialRank + 2)")
        }
        var flat: [Int64] = []
        for (i, pair) in spatial.enumerated() {
            flat.append(try toInt64(pair.before, "pads[\(i)].before"))
            flat.append(try toInt64(pair.after, "pads[\(i)].after"))
        }
        return (DECONV_PADDING_EXPLICIT, flat)
    }
}

/// Conv parameters, starting from the documented DECONV_CONV_PARAMS_INIT defaults.
func convParams(spatialRank: Int, layout: DataFormat, padding: Padding, strides: PerDim,
                dilations: PerDim, activation: Activation) throws -> deconv_conv_params {
    var p = deconv_conv_params()
    p.struct_size = MemoryLayout<deconv_conv_params>.size
    p.flags = 0
    p.spatial_rank = Int32(spatialRank)
    p.layout = layout.cLayout
    let (mode, pads) = try cPadding(padding, spatialRank: spatialRank, layout: layout)
    p.padding = mode
    fill(&p.strides, with: try strides.resolve(spatialRank: spatialRank, layout: layout, name: "strides"))
    fill(&p.dilations, with: try dilations.resolve(spatialRank: spatialRank, layout: layout, name: "dilations"))
    fill(&p.pads, with: pads)
    p.alpha = 0.2
    p.clamp_min = 0
    p.clamp_max = 6
    switch activation {
    case .none: p.activation = DECONV_ACTIVATION_NONE
    case .relu: p.activation = DECONV_ACTIVATION_RELU
    case .relu6: p.activation = DECONV_ACTIVATION_RELU6
    case .leakyReLU(let alpha):
        p.activation = DECONV_ACTIVATION_LEAKY_RELU
        p.alpha = alpha
    case .sigmoid: p.activation = DECONV_ACTIVATION_SIGMOID
    case .tanh: p.activation = DECONV_ACTIVATION_TANH
    case .clamp(let low, let high):
        p.activation = DECONV_ACTIVATION_CLAMP
        p.clamp_min = low
        p.clamp_max = high
    }
    return p
}

/// Pool parameters, starting from the documented DECONV_POOL_PARAMS_INIT defaults.
func poolParams(spatialRank: Int, layout: DataFormat, ksize: PerDim, strides: PerDim, padding: Padding,
                countIncludePad: Bool = false, includeBatchInIndex: Bool = false,
                normalize: Bool = false) throws -> deconv_pool_params {
    var p = deconv_pool_params()
    p.struct_size = MemoryLayout<deconv_pool_params>.size
    p.flags = 0
    p.spatial_rank = Int32(spatialRank)
    p.layout = layout.cLayout
    let (mode, pads) = try cPadding(padding, spatialRank: spatialRank, layout: layout)
    p.padding = mode
    fill(&p.ksize, with: try ksize.resolve(spatialRank: spatialRank, layout: layout, name: "ksize"))
    fill(&p.strides, with: try strides.resolve(spatialRank: spatialRank, layout: layout, name: "strides"))
    fill(&p.pads, with: pads)
    p.count_include_pad = countIncludePad ? 1 : 0
    p.include_batch_in_index = includeBatchInIndex ? 1 : 0
    p.normalize = normalize ? 1 : 0
    return p
}

/// The element count of an output shape the C library is about to fill. When the shape is one
/// Swift cannot count (a negative dim, an overflow), `diagnose` runs the C op without an
/// output buffer so the caller gets exactly the status C gives for that shape.
func outputCount(_ shape: [Int], name: String, diagnose: () throws -> Void) throws -> Int {
    do {
        return try elementCount(of: shape, name: name)
    } catch {
        try diagnose()
        throw error
    }
}

/// Above this many output elements (64 MiB of floats) a caller-given output shape is validated
/// by a C shape query before its buffer is allocated, so a bogus huge shape gets its real
/// status rather than an allocation failure. Smaller outputs go straight to the op, whose own
/// validation order then decides the status.
let largeOutputCount = 1 << 24
