/// The activation fused after the bias of a conv or transposed conv.
public enum Activation: Sendable, Hashable, CustomStringConvertible {
    /// The identity.
    case none
    /// `max(x, 0)`.
    case relu
    /// `min(max(x, 0), 6)`.
    case relu6
    /// `x >= 0 ? x : alpha * x` (Keras' LeakyReLU default slope 0.2); alpha must be finite.
    case leakyReLU(alpha: Float = 0.2)
    /// `1 / (1 + exp(-x))`.
    case sigmoid
    /// `tanh(x)`.
    case tanh
    /// `min(max(x, min), max)`; bounds finite, `min <= max`.
    case clamp(min: Float, max: Float)

    /// The Keras-style name, e.g. `relu` or `leaky_relu(0.2)`.
    public var description: String {
        switch self {
        case .none: return "none"
        case .relu: return "relu"
        case .relu6: return "relu6"
        case .leakyReLU(let alpha): return "leaky_relu(\(alpha))"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .clamp(let low, let high): return "clamp(\(low), \(high))"
        }
    }
}
