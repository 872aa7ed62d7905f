/// A dense float32 tensor: a shape, the data format its dims follow, and the scalars in
/// row-major order of that shape.
///
/// A value type with copy-on-write storage (a Swift array), safe to share across tasks.
/// Every initializer checks that the scalar count equals the product of the shape and throws
/// `DeconvError` instead of trapping.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The dims, in the order of `layout` for activations (e.g. `[N, H, W, C]` for
    /// `.channelsLast` 2-D data) or TF's filter layout for filters.
    public let shape: [Int]
    /// The data format of an activation tensor. Ignored for filters and biases.
    public let layout: DataFormat
    /// The elements in row-major order of `shape`; `scalars.count` is the product of `shape`.
    public private(set) var scalars: [Float]

    /// A tensor with the given shape and scalars (row-major). Throws `.invalidShape` for a
    /// negative dim and `.countMismatch` when the count is not the product of the shape.
    public init(shape: [Int], scalars: [Float], layout: DataFormat = .channelsLast) throws {
        let count = try elementCount(of: shape, name: "shape")
        guard scalars.count == count else {
            throw DeconvError(.countMismatch,
                              "\(scalars.count) scalars given for shape \(shape) (\(count) elements)")
        }
        self.shape = shape
        self.layout = layout
        self.scalars = scalars
    }

    /// A tensor whose scalars are those of `sequence`, e.g. `(1...9).map(Float.init)`.
    public init<S: Sequence>(shape: [Int], contentsOf sequence: S, layout: DataFormat = .channelsLast)
    throws where S.Element == Float {
        try self.init(shape: shape, scalars: Array(sequence), layout: layout)
    }

    /// A tensor holding the integers of `range` in order, e.g. `Tensor(shape: [1, 3, 3, 1],
    /// range: 1...9)`. The range must have exactly as many values as the shape has elements.
    public init(shape: [Int], range: ClosedRange<Int>, layout: DataFormat = .channelsLast) throws {
        let count = try elementCount(of: shape, name: "shape")
        guard range.count == count else {
            throw DeconvError(.countMismatch,
                              "range \(range) has \(range.count) values, shape \(shape) needs \(count)")
        }
        try self.init(shape: shape, scalars: range.map { Float($0) }, layout: layout)
    }

    /// A tensor holding the integers of `range` in order; see `init(shape:range:layout:)`.
    public init(shape: [Int], range: Range<Int>, layout: DataFormat = .channelsLast) throws {
        let count = try elementCount(of: shape, name: "shape")
        guard range.count == count else {
            throw DeconvError(.countMismatch,
                              "range \(range) has \(range.count) values, shape \(shape) needs \(count)")
        }
        try self.init(shape: shape, scalars: range.map { Float($0) }, layout: layout)
    }

    /// A tensor with every element equal to `value`.
    public init(repeating value: Float, shape: [Int], layout: DataFormat = .channelsLast) throws {
        let count = try elementCount(of: shape, name: "shape")
        try self.init(shape: shape, scalars: makeArray(repeating: value, count: count), layout: layout)
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int], layout: DataFormat = .channelsLast) throws {
        try self.init(repeating: 0, shape: shape, layout: layout)
    }

    /// Uniform random values in `[bounds.lowerBound, bounds.upperBound)` from a seeded
    /// generator (splitmix64): the same seed gives the same tensor on every platform.
    /// The bounds must be finite.
    public init(randomUniform shape: [Int], in bounds: ClosedRange<Float> = -1...1, seed: UInt64,
                layout: DataFormat = .channelsLast) throws {
        guard bounds.lowerBound.isFinite, bounds.upperBound.isFinite,
              (bounds.upperBound - bounds.lowerBound).isFinite else {
            throw DeconvError(.invalidArgument, "random bounds \(bounds) are not finite")
        }
        let count = try elementCount(of: shape, name: "shape")
        var values = try makeArray(repeating: Float(0), count: count)
        var generator = SplitMix64(seed: seed)
        for i in values.indices {
            values[i] = generator.nextFloat(in: bounds.lowerBound, bounds.upperBound)
        }
        try self.init(shape: shape, scalars: values, layout: layout)
    }

    /// A rank-1 tensor holding `vector`.
    public init(_ vector: [Float]) {
        shape = [vector.count]
        layout = .channelsLast
        scalars = vector
    }

    /// A rank-2 tensor from rows of equal length; throws `.countMismatch` for ragged rows.
    public init(_ matrix: [[Float]]) throws {
        let columns = matrix.first?.count ?? 0
        if let row = matrix.firstIndex(where: { $0.count != columns }) {
            throw DeconvError(.countMismatch,
                              "row \(row) has \(matrix[row].count) values, row 0 has \(columns)")
        }
        try self.init(shape: [matrix.count, columns], scalars: matrix.flatMap { $0 })
    }

    /// Trusted init for results whose count the C library has already checked.
    init(validatedShape shape: [Int], scalars: [Float], layout: DataFormat) {
        self.shape = shape
        self.layout = layout
        self.scalars = scalars
    }

    /// Number of dims.
    public var rank: Int { shape.count }

    /// Number of elements (the product of `shape`).
    public var scalarCount: Int { scalars.count }

    /// The element at `index` (one Int per dim), e.g. `try y[0, 1, 2, 0]`. Throws
    /// `.indexOutOfRange` for a wrong number of indices or one outside its dim.
    public subscript(_ index: Int...) -> Float {
        get throws { scalars[try flatOffset(of: index, in: shape)] }
    }

    /// The element at `index`, given as an array with one Int per dim.
    public subscript(index index: [Int]) -> Float {
        get throws { scalars[try flatOffset(of: index, in: shape)] }
    }

    /// Sets the element at `index` (one Int per dim).
    public mutating func setScalar(_ value: Float, at index: [Int]) throws {
        scalars[try flatOffset(of: index, in: shape)] = value
    }

    /// The same scalars under a new shape with the same element count (`.countMismatch`
    /// otherwise), optionally in another data format.
    public func reshaped(to newShape: [Int], layout newLayout: DataFormat? = nil) throws -> Tensor {
        try Tensor(shape: newShape, scalars: scalars, layout: newLayout ?? layout)
    }

    /// Calls `body` with the scalars' contiguous storage.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the scalars' contiguous storage, which it may modify (not resize).
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer(body)
    }

    /// True when shapes, layouts and every pair of elements are equal under Float's `==` (so a
    /// tensor holding NaN is not equal to itself; see `isApproximatelyEqual`).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.layout == rhs.layout
            && lhs.scalars.count == rhs.scalars.count && zip(lhs.scalars, rhs.scalars).allSatisfy { $0 == $1 }
    }

    /// True when shapes and layouts are equal and every pair of elements is within
    /// `absoluteTolerance + relativeTolerance * |other|`; NaN matches only NaN and an infinity
    /// only the same infinity.
    public func isApproximatelyEqual(to other: Tensor, relativeTolerance: Float = 1e-5,
                                     absoluteTolerance: Float = 1e-5) -> Bool {
        guard shape == other.shape, layout == other.layout else { return false }
        for (a, b) in zip(scalars, other.scalars) {
            if a.isNaN || b.isNaN {
                if a.isNaN != b.isNaN { return false }
            } else if a.isInfinite || b.isInfinite {
                if a != b { return false }
            } else if !(abs(a - b) <= absoluteTolerance + relativeTolerance * abs(b)) {
                return false
            }
        }
        return true
    }

    /// The shape and layout, then the values: 2-D slices (the last two spatial dims of an
    /// activation, or the whole of a rank-2 tensor) printed as matrices, one per position of
    /// the other dims. Large tensors are abbreviated.
    public var description: String {
        describeTensor(shape: shape, layout: layout, count: scalars.count) { formatScalar(scalars[$0]) }
    }
}

/// The row-major offset of `index` in `shape`, with every coordinate checked.
func flatOffset(of index: [Int], in shape: [Int]) throws -> Int {
    guard index.count == shape.count else {
        throw DeconvError(.indexOutOfRange, "\(index.count) indices given for a rank-\(shape.count) tensor")
    }
    var offset = 0
    for (axis, (i, dim)) in zip(index, shape).enumerated() {
        guard i >= 0, i < dim else {
            throw DeconvError(.indexOutOfRange, "index[\(axis)] = \(i) is outside 0..<\(dim)")
        }
        offset = offset * dim + i
    }
    return offset
}
