/// Keras' `Reshape`: reshapes every example to `targetShape` (batch dim excluded); one entry
/// may be -1 and is then inferred.
public struct Reshape: Layer {
    /// The per-example shape, batch excluded.
    public var targetShape: [Int]

    /// A layer reshaping each example to `targetShape` (one entry may be -1).
    public init(_ targetShape: [Int]) { self.targetShape = targetShape }

    /// The full output shape for `inputShape`.
    func resolve(_ inputShape: [Int]) throws -> [Int] {
        guard let batch = inputShape.first else {
            throw DeconvError(.invalidShape, "Reshape needs an input with a batch dim, got shape []")
        }
        let perExample = try elementCount(of: Array(inputShape.dropFirst()), name: "input shape")
        var shape = targetShape
        let unknown = shape.indices.filter { shape[$0] == -1 }
        guard unknown.count <= 1 else {
            throw DeconvError(.invalidShape, "Reshape target \(targetShape) has more than one -1")
        }
        if let axis = unknown.first {
            shape[axis] = 1
            let known = try elementCount(of: shape, name: "Reshape target")
            guard known > 0, perExample % known == 0 else {
                throw DeconvError(.countMismatch, "cannot reshape \(perExample) values per example to \(targetShape)")
            }
            shape[axis] = perExample / known
        }
        guard try elementCount(of: shape, name: "Reshape target") == perExample else {
            throw DeconvError(.countMismatch, "cannot reshape \(perExample) values per example to \(targetShape)")
        }
        return [batch] + shape
    }

    /// Returns the reshaped shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        try resolve(inputShape)
    }

    /// Reshapes `input`, keeping its layout.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        try input.reshaped(to: try resolve(input.shape))
    }
}
