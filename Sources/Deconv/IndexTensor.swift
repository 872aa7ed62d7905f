/// A dense tensor of Int64 indices, as produced by `maxPoolWithArgmax` and consumed by
/// `maxUnpool`. Each index is TF's flat index into the channels-last pre-pool input
/// (`((b * H + y) * W + x) * C + c` for 2-D, the batch term only with `includeBatchInIndex`).
public struct IndexTensor: Sendable, Equatable, CustomStringConvertible {
    /// The dims, the same as the pooled output's.
    public let shape: [Int]
    /// The data format of the pooled output the indices belong to.
    public let layout: DataFormat
    /// The indices in row-major order of `shape`.
    public private(set) var indices: [Int64]

    /// An index tensor with the given shape and indices; throws `.countMismatch` when the count
    /// is not the product of the shape.
    public init(shape: [Int], indices: [Int64], layout: DataFormat = .channelsLast) throws {
        let count = try elementCount(of: shape, name: "shape")
        guard indices.count == count else {
            throw DeconvError(.countMismatch,
                              "\(indices.count) indices given for shape \(shape) (\(count) elements)")
        }
        self.shape = shape
        self.layout = layout
        self.indices = indices
    }

    /// Trusted init for results whose count the C library has already checked.
    init(validatedShape shape: [Int], indices: [Int64], layout: DataFormat) {
        self.shape = shape
        self.layout = layout
        self.indices = indices
    }

    /// Number of dims.
    public var rank: Int { shape.count }

    /// The index at `index` (one Int per dim); throws `.indexOutOfRange` outside the shape.
    public subscript(_ index: Int...) -> Int64 {
        get throws { indices[try flatOffset(of: index, in: shape)] }
    }

    /// Sets the element at `index` (one Int per dim).
    public mutating func setIndex(_ value: Int64, at index: [Int]) throws {
        indices[try flatOffset(of: index, in: shape)] = value
    }

    /// Calls `body` with the indices' contiguous storage.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Int64>) throws -> R) rethrows -> R {
        try indices.withUnsafeBufferPointer(body)
    }

    /// The shape and layout, then the indices as 2-D slices (see `Tensor.description`).
    public var description: String {
        "Index" + describeTensor(shape: shape, layout: layout, count: indices.count) { String(indices[$0]) }
    }
}
