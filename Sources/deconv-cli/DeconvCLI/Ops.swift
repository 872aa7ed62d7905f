import Deconv

/// The ops `deconv run` and `deconv shape` know, named as in tf.nn.
struct OpInfo {
    enum Kind { case conv, convTranspose, maxPool, avgPool, maxPoolWithArgmax, maxUnpool, avgUnpool }
    let name: String
    let kind: Kind
    /// Fixed by the name (conv2d: 2); nil when the input's rank decides (max_pool_with_argmax,
    /// the unpools), as TF's generic ops do.
    let spatialRank: Int?

    static let all: [OpInfo] = {
        var ops: [OpInfo] = []
        for r in 1...3 { ops.append(OpInfo(name: "conv\(r)d", kind: .conv, spatialRank: r)) }
        for r in 1...3 { ops.append(OpInfo(name: "conv\(r)d_transpose", kind: .convTranspose, spatialRank: r)) }
        for r in 1...3 { ops.append(OpInfo(name: "max_pool\(r)d", kind: .maxPool, spatialRank: r)) }
        for r in 1...3 { ops.append(OpInfo(name: "avg_pool\(r)d", kind: .avgPool, spatialRank: r)) }
        ops.append(OpInfo(name: "max_pool_with_argmax", kind: .maxPoolWithArgmax, spatialRank: nil))
        ops.append(OpInfo(name: "max_unpool", kind: .maxUnpool, spatialRank: nil))
        ops.append(OpInfo(name: "avg_unpool", kind: .avgUnpool, spatialRank: nil))
        return ops
    }()

    static func named(_ name: String, command: String) throws -> OpInfo {
        guard let op = all.first(where: { $0.name == name }) else {
            throw UsageError("\(command): unknown op '\(name)'; one of: " + all.map(\.name).joined(separator: " "))
        }
        return op
    }

    var isConv: Bool { kind == .conv || kind == .convTranspose }
    var isPool: Bool { !isConv }
}

/// Names of the spatial dims of a rank: W; H, W; D, H, W.
func spatialNames(_ rank: Int) -> [String] { Array(["D", "H", "W"].suffix(rank)) }

/// The example layout of an activation, e.g. "[N, H, W, C]" or "[N, C, H, W]".
func layoutText(_ rank: Int, _ format: DataFormat) -> String {
    let s = spatialNames(rank)
    return "[" + (format == .channelsLast ? ["N"] + s + ["C"] : ["N", "C"] + s).joined(separator: ", ") + "]"
}

/// TF's data_format name for a rank and layout.
func formatName(_ rank: Int, _ format: DataFormat) -> String {
    format == .channelsLast ? ["NWC", "NHWC", "NDHWC"][rank - 1] : ["NCW", "NCHW", "NCDHW"][rank - 1]
}

/// Spatial values of a TF int list (one value, one per spatial dim, or the full length) for
/// explanations; the library validates the list itself, so this only runs after it has.
func spatialValues(_ list: [Int], rank: Int, format: DataFormat) -> [Int] {
    switch list.count {
    case 1: return Array(repeating: list[0], count: rank)
    case rank + 2: return (0..<rank).map { list[format == .channelsLast ? 1 + $0 : 2 + $0] }
    default: return Array(list.prefix(rank)) + Array(repeating: 1, count: max(0, rank - list.count))
    }
}

/// Spatial dims of an activation shape.
func spatialDims(_ shape: [Int], rank: Int, format: DataFormat) -> [Int] {
    (0..<rank).map { shape[format == .channelsLast ? 1 + $0 : 2 + $0] }
}

/// The option specs shared by `run` and `shape`, per op kind.
func commonSpecs(_ kind: OpInfo.Kind, tensors: Bool) -> [OptionSpec] {
    let input: OptionSpec = tensors ? .value("input", "input tensor (.npy)")
                                    : .value("input", "input shape, e.g. 1,3,3,1")
    var specs: [OptionSpec] = [input]
    switch kind {
    case .conv, .convTranspose:
        specs.append(tensors ? .value("filters", "filter tensor (.npy), TF layout "
                                          + (kind == .conv ? "[k..., in/groups, out]" : "[k..., out/groups, in]"))
                             : .value("filters", "filter shape, TF layout "
                                          + (kind == .conv ? "[k..., in/groups, out]" : "[k..., out/groups, in]")))
        if kind == .convTranspose {
            specs.append(.value("output-shape", "full output shape in data_format order, e.g. 1,6,6,1"
                                    + (tensors ? "" : " (optional: checked, and its pads shown)")))
        }
        specs.append(.value("strides", "one int, one per spatial dim, or full length (default 1)"))
        specs.append(.value("padding", "SAME, VALID or explicit pairs in data_format order, e.g. 0,0,1,1,2,2,0,0"
                                + (kind == .convTranspose ? " (default SAME, as TF)" : "")))
        specs.append(.value("data-format", "NWC NCW NHWC NCHW NDHWC NCDHW (default channels-last)"))
        specs.append(.value("dilations", "one int, one per spatial dim, or full length (default 1)"))
    default:
        if kind == .maxUnpool || kind == .avgUnpool {
            specs.append(.value("output-shape", "the pre-pool shape to unpool into, data_format order"
                                    + (tensors ? "" : " (optional: checked)")))
        }
        specs.append(.value("ksize", "window: one int, one per spatial dim, or full length"))
        specs.append(.value("strides", "one int, one per spatial dim, or full length"))
        specs.append(.value("padding", "SAME, VALID or explicit pairs in data_format order"))
        specs.append(.value("data-format", "NWC NCW NHWC NCHW NDHWC NCDHW (default channels-last)"))
    }
    return specs
}
