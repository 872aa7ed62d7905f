/// Keras' `Sequential`: layers run one after another, each on the previous one's output.
/// Pooling layers pass their indices to the unpooling layers paired with them.
public struct Sequential: Layer {
    /// The layers, in order. Replace one to change its weights, e.g. after
    /// `var l = model.layers[0] as! Conv2DTranspose; try l.setWeights(...)`.
    public var layers: [any Layer]

    /// A model of `layers`, not yet built: call `build(inputShape:seed:)` before running it
    /// unless every layer already has its weights.
    public init(_ layers: [any Layer]) { self.layers = layers }

    /// A model of `layers` built for `inputShape` (full shape, batch included): layer `i`
    /// without weights gets Glorot-uniform ones seeded from `seed` and `i`.
    public init(inputShape: [Int], seed: UInt64 = 0, _ layers: [any Layer]) throws {
        self.layers = layers
        try build(inputShape: inputShape, seed: seed)
    }

    /// Builds every layer in order and returns the model's output shape.
    public mutating func build(inputShape: [Int], seed: UInt64, state: inout LayerState) throws -> [Int] {
        var shape = inputShape
        for i in layers.indices {
            shape = try layers[i].build(inputShape: shape, seed: derivedSeed(seed, i), state: &state)
        }
        return shape
    }

    /// Runs every layer in order.
    public func forward(_ input: Tensor, state: inout LayerState, context: ExecutionContext?) throws -> Tensor {
        var x = input
        for layer in layers {
            x = try layer.forward(x, state: &state, context: context)
        }
        return x
    }
}
