/// The seeded generator behind `Tensor(randomUniform:)` and the layers' Glorot initialisers:
/// splitmix64, so the same seed gives the same values on every platform and Swift version
/// (unlike `SystemRandomNumberGenerator`, and unlike the standard library's
/// `Float.random(in:using:)`, whose algorithm is not promised to stay the same).
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in [low, high): 24 random bits, so every value is exact in Float.
    mutating func nextFloat(in low: Float, _ high: Float) -> Float {
        let unit = Float(next() >> 40) * (1.0 / 16_777_216.0)
        return low + (high - low) * unit
    }
}

/// A seed for layer `index` derived from a base seed, so layers built together get distinct,
/// reproducible weights.
func derivedSeed(_ base: UInt64, _ index: Int) -> UInt64 {
    var generator = SplitMix64(seed: base ^ (UInt64(truncatingIfNeeded: index) &* 0xd1b5_4a32_d192_ed03))
    return generator.next()
}
