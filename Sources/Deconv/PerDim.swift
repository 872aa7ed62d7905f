/// A per-spatial-dim integer argument (strides, dilations, kernel and pool sizes, output
/// padding): one value for every dim (`strides: 2`), one per spatial dim (`strides: [2, 1]`),
/// or, where TF accepts it, TF's full-length form with one value per input dim whose batch and
/// channel entries must be 1 (`strides: [1, 2, 2, 1]`).
public struct PerDim: Sendable, Hashable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    CustomStringConvertible {
    /// The values as given.
    public let values: [Int]

    /// The same value for every spatial dim.
    public init(_ value: Int) { values = [value] }
    /// One value per spatial dim (or TF's full-length form).
    public init(_ values: [Int]) { self.values = values }
    /// `strides: 2`.
    public init(integerLiteral value: Int) { values = [value] }
    /// `strides: [2, 1]`.
    public init(arrayLiteral elements: Int...) { values = elements }

    /// The values, as given.
    public var description: String { values.count == 1 ? String(values[0]) : "\(values)" }

    /// One Int64 per spatial dim. `allowFullLength` accepts TF's form with batch and channel
    /// entries, which must then be 1.
    func resolve(spatialRank: Int, layout: DataFormat, name: String,
                 allowFullLength: Bool = true) throws -> [Int64] {
        let spatial: [Int]
        switch values.count {
        case 1: spatial = Array(repeating: values[0], count: spatialRank)
        case spatialRank: spatial = values
        case spatialRank + 2 where allowFullLength:
            let rank = spatialRank + 2
            for axis in [0, layout.channelAxis(rank: rank)] where values[axis] != 1 {
                throw DeconvError(.invalidArgument,
                                  "\(name)[\(axis)] = \(values[axis]): the batch and channel entries must be 1")
            }
            spatial = (0..<spatialRank).map { values[layout.spatialAxis($0, rank: rank)] }
        default:
            throw DeconvError(.invalidArgument,
                              "\(name) has \(values.count) values; expected 1 or \(spatialRank)"
                                  + (allowFullLength ? " or \(spatialRank + 2)" : ""))
        }
        return try spatial.enumerated().map { try toInt64($1, "\(name)[\($0)]") }
    }
}

/// Int -> Int64 without trapping (Int is at most 64 bits on every Swift platform today, but the
/// conversion is checked rather than assumed).
func toInt64(_ value: Int, _ name: String) throws -> Int64 {
    guard let result = Int64(exactly: value) else {
        throw DeconvError(.overflow, "\(name) = \(value) does not fit Int64")
    }
    return result
}

/// Int64 -> Int without trapping (shapes coming back from C on a 32-bit platform).
func toInt(_ value: Int64, _ name: String) throws -> Int {
    guard let result = Int(exactly: value) else {
        throw DeconvError(.overflow, "\(name) = \(value) does not fit Int on this platform")
    }
    return result
}
