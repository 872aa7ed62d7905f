/// How the dims of an activation tensor are ordered (TF's `data_format`). Filters always use
/// TF's layout whatever the data format: `[k..., in / groups, out]` for a conv and
/// `[k..., out / groups, in]` for a transposed conv.
public enum DataFormat: Sendable, Hashable, CustomStringConvertible {
    /// `NWC`, `NHWC`, `NDHWC`: batch, spatial dims, channels (TF's default).
    case channelsLast
    /// `NCW`, `NCHW`, `NCDHW`: batch, channels, spatial dims.
    case channelsFirst

    /// Parses a TF data-format string such as `"NHWC"` or `"NCDHW"`; nil if it is not one.
    public init?(_ tfName: String) {
        switch tfName {
        case "NWC", "NHWC", "NDHWC": self = .channelsLast
        case "NCW", "NCHW", "NCDHW": self = .channelsFirst
        default: return nil
        }
    }

    /// `channelsLast` or `channelsFirst`.
    public var description: String { self == .channelsLast ? "channelsLast" : "channelsFirst" }

    /// Index of the channel axis in a shape of `rank` dims.
    func channelAxis(rank: Int) -> Int { self == .channelsLast ? rank - 1 : 1 }

    /// Index of spatial dim `i` in a shape of `rank` dims.
    func spatialAxis(_ i: Int, rank: Int) -> Int { self == .channelsLast ? 1 + i : 2 + i }
}
