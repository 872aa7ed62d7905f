/// Padding of a windowed op, as TF's `padding` argument.
public enum Padding: Sendable, Equatable, CustomStringConvertible {
    /// No padding; windows stay inside the input.
    case valid
    /// Output size `ceil(in / stride)`; the total pad is split with the odd extra cell at the
    /// end (bottom/right), as TF.
    case same
    /// Explicit `(before, after)` pads, each >= 0: one pair per spatial dim, or TF's
    /// full-length form with one pair per dim of the input (the batch and channel pairs must
    /// be `(0, 0)`). For a transposed conv these are the forward conv's pads.
    case explicit([(before: Int, after: Int)])

    /// True for equal modes and, for `.explicit`, equal pads.
    public static func == (lhs: Padding, rhs: Padding) -> Bool {
        switch (lhs, rhs) {
        case (.valid, .valid), (.same, .same): return true
        case let (.explicit(a), .explicit(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.before == $1.before && $0.after == $1.after }
        default: return false
        }
    }

    /// `VALID`, `SAME` or `EXPLICIT[(b, a), ...]`.
    public var description: String {
        switch self {
        case .valid: return "VALID"
        case .same: return "SAME"
        case .explicit(let pads): return "EXPLICIT\(pads.map { "(\($0.before), \($0.after))" })"
        }
    }
}
