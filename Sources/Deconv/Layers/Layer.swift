/// A Keras-style layer: a value that knows its settings and (once built) its weights, and maps
/// an input tensor to an output tensor through the Deconv ops.
///
/// Layers are value types. `build(inputShape:seed:state:)` fixes what depends on the input
/// (a conv's kernel shape, a pooling layer's pre-pool shape) and returns the output shape;
/// `Sequential(inputShape:_:)` builds every layer in order. A layer whose weights were set
/// by hand keeps them when built.
public protocol Layer: Sendable {
    /// Creates missing weights for `inputShape` (full shape, batch included) with a
    /// Glorot-uniform initialiser seeded by the layer's own seed or else `seed`, records what
    /// paired layers need in `state`, and returns the output shape.
    mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int]

    /// Runs the layer; pooling layers record their indices and input shape in `state` for the
    /// unpooling layer paired with them.
    func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor
}

extension Layer {
    /// Runs the layer on `input`, on the threads of `context` (nil: the calling thread).
    public func callAsFunction(_ input: Tensor, context: ExecutionContext? = nil) throws -> Tensor {
        var state = LayerState()
        return try forward(input, state: &state, context: context)
    }

    /// Builds the layer for `inputShape` (see `build(inputShape:seed:state:)`) and returns its
    /// output shape.
    @discardableResult
    public mutating func build(inputShape: [Int], seed: UInt64 = 0) throws -> [Int] {
        var state = LayerState()
        return try build(inputShape: inputShape, seed: seed, state: &state)
    }

    /// A copy of the layer built for `inputShape`.
    public func built(inputShape: [Int], seed: UInt64 = 0) throws -> Self {
        var copy = self
        try copy.build(inputShape: inputShape, seed: seed)
        return copy
    }

    /// The output shape for `inputShape`, without changing the layer.
    public func outputShape(forInputShape inputShape: [Int]) throws -> [Int] {
        var copy = self
        var state = LayerState()
        state.shapeOnly = true
        return try copy.build(inputShape: inputShape, seed: 0, state: &state)
    }
}

/// What layers run together pass along: the argmax indices and pre-pool shapes recorded by
/// pooling layers for the unpooling layers paired with them.
public struct LayerState: Sendable {
    struct PoolRecord: Sendable {
        var inputShape: [Int]
        var argmax: IndexTensor?
    }

    var pools: [ObjectIdentifier: PoolRecord] = [:]
    /// Set by `outputShape(forInputShape:)`: the build only answers a shape, on a copy that is
    /// then dropped, so conv layers do not pack their weights for it.
    var shapeOnly = false

    /// An empty state.
    public init() {}
}

/// The identity of one pooling layer (shared by its copies), by which an unpooling layer
/// finds the records of the pooling layer it is paired with.
final class PoolIdentity: Sendable {
    var key: ObjectIdentifier { ObjectIdentifier(self) }
}
