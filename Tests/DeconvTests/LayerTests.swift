import Deconv
import Foundation
import Testing

@Suite("Keras-style layers")
struct LayerTests {
    /// Keras 3 sizes (keras.src.ops.operation_utils / deconv_output_length) for a 2-D
    /// Conv2DTranspose on a 3x5 input: (kernel, stride, padding, outputPadding) -> [H, W].
    static let kerasSizes: [(k: Int, s: Int, padding: Padding, op: Int?, hw: [Int])] = [
        (3, 2, .same, nil, [6, 10]),    // in * s
        (3, 2, .valid, nil, [7, 11]),   // in * s + max(k - s, 0)
        (3, 2, .same, 1, [6, 10]),      // (in - 1) * s + k % 2 + op
        (3, 2, .same, 0, [5, 9]),
        (3, 2, .valid, 1, [8, 12]),     // (in - 1) * s + k + op
        (4, 2, .same, 1, [5, 9]),
        (1, 3, .valid, nil, [9, 15]),   // k < s: in * s
        (5, 1, .valid, nil, [7, 9]),
    ]

    @Test("Conv2DTranspose output shapes follow Keras, including output_padding", arguments: 0..<8)
    func transposeShapes(_ i: Int) throws {
        let c = LayerTests.kerasSizes[i]
        let layer = Conv2DTranspose(filters: 2, kernelSize: PerDim(c.k), strides: PerDim(c.s), padding: c.padding,
                                    outputPadding: c.op.map { PerDim($0) })
        #expect(try layer.outputShape(forInputShape: [1, 3, 5, 4]) == [1] + c.hw + [2])
        // And the layer really produces that shape (when TF's rule accepts it).
        let x = try Tensor(randomUniform: [1, 3, 5, 4], seed: 3)
        let built = try layer.built(inputShape: x.shape, seed: 1)
        #expect(try built(x).shape == [1] + c.hw + [2])
    }

    @Test("1-D and 3-D transposed layers, channels-first, dilation")
    func otherRanks() throws {
        let l1 = try Conv1DTranspose(filters: 3, kernelSize: 3, strides: 2, padding: .same).built(inputShape: [2, 5, 4])
        #expect(l1.kernel?.shape == [3, 3, 4] && l1.bias?.shape == [3])
        #expect(try l1(try Tensor(randomUniform: [2, 5, 4], seed: 1)).shape == [2, 10, 3])
        let l3 = try Conv3DTranspose(filters: 2, kernelSize: [2, 3, 3], strides: [1, 2, 2], padding: .valid,
                                     dataFormat: .channelsFirst).built(inputShape: [1, 3, 2, 3, 4])
        #expect(l3.kernel?.shape == [2, 3, 3, 2, 3])
        let x3 = try Tensor(randomUniform: [1, 3, 2, 3, 4], seed: 1, layout: .channelsFirst)
        #expect(try l3(x3).shape == [1, 2, 3, 7, 9])
        let dilated = Conv2DTranspose(filters: 1, kernelSize: 3, strides: 1, padding: .valid, dilation: 2)
        #expect(try dilated.outputShape(forInputShape: [1, 4, 4, 1]) == [1, 8, 8, 1])
    }

    @Test("forward conv layers match the ops, with groups")
    func convLayers() throws {
        let x = try Tensor(randomUniform: [2, 7, 6, 4], seed: 5)
        var layer = Conv2D(filters: 6, kernelSize: 3, strides: 2, padding: .same, groups: 2, activation: .relu)
        try layer.build(inputShape: x.shape, seed: 9)
        let kernel = try #require(layer.kernel)
        #expect(kernel.shape == [3, 3, 2, 6])
        let expected = try conv2d(x, filters: kernel, strides: 2, padding: .same, bias: layer.bias, activation: .relu)
        #expect(try layer(x) == expected)
        #expect(try layer.outputShape(forInputShape: x.shape) == [2, 4, 3, 6])
        let c1 = try Conv1D(filters: 2, kernelSize: 2).built(inputShape: [1, 5, 3])
        #expect(try c1(try Tensor(randomUniform: [1, 5, 3], seed: 1)).shape == [1, 4, 2])
        let c3 = try Conv3D(filters: 2, kernelSize: 2, useBias: false).built(inputShape: [1, 3, 3, 3, 1])
        #expect(c3.bias == nil)
        #expect(try c3(try Tensor(randomUniform: [1, 3, 3, 3, 1], seed: 1)).shape == [1, 2, 2, 2, 2])
        #expect(thrownCode { _ = try Conv2D(filters: 4, kernelSize: 3, groups: 3).built(inputShape: [1, 5, 5, 4]) }
            == .shapeMismatch)
    }

    @Test("Glorot-uniform kernels: seeded, reproducible, within Keras' limit; zero bias")
    func glorot() throws {
        let a = try Conv2DTranspose(filters: 8, kernelSize: 5).built(inputShape: [1, 4, 4, 16], seed: 11)
        let b = try Conv2DTranspose(filters: 8, kernelSize: 5).built(inputShape: [1, 4, 4, 16], seed: 11)
        let c = try Conv2DTranspose(filters: 8, kernelSize: 5).built(inputShape: [1, 4, 4, 16], seed: 12)
        let own = try Conv2DTranspose(filters: 8, kernelSize: 5, seed: 11).built(inputShape: [1, 4, 4, 16], seed: 99)
        let ka = try #require(a.kernel)
        #expect(ka.shape == [5, 5, 8, 16])
        #expect(ka == b.kernel && ka != c.kernel && ka == own.kernel)
        let limit = Float((6.0 / Double(25 * 8 + 25 * 16)).squareRoot())
        #expect(ka.scalars.allSatisfy { abs($0) <= limit })
        #expect(ka.scalars.contains { abs($0) > limit * 0.9 }, "values should span the range")
        #expect(a.bias?.scalars == [Float](repeating: 0, count: 8))
    }

    @Test("built conv layers run weights prepared for the built shape, remade when the weights change")
    func preparedLayers() throws {
        let x = try Tensor(randomUniform: [2, 4, 4, 8], seed: 3)
        var up = Conv2DTranspose(filters: 3, kernelSize: 5, strides: 2, padding: .same, activation: .relu)
        #expect(up.preparedInputShape == nil)
        try up.build(inputShape: x.shape, seed: 4)
        #expect(up.preparedInputShape == x.shape)
        let k1 = try #require(up.kernel)
        func op(_ input: Tensor, _ kernel: Tensor) throws -> Tensor {
            var shape = input.shape
            shape[1] *= 2; shape[2] *= 2; shape[3] = 3
            return try conv2dTranspose(input, filters: kernel, outputShape: shape, strides: 2, padding: .same,
                                       bias: up.bias, activation: .relu)
        }
        #expect(try up(x) == op(x, k1))
        // another batch size runs the one-shot op
        let x1 = try Tensor(randomUniform: [1, 4, 4, 8], seed: 5)
        #expect(try up(x1) == op(x1, k1))
        // new weights are prepared again, for the built shape; a copy keeps the old ones
        let before = up
        let k2 = try Tensor(randomUniform: k1.shape, seed: 6)
        try up.setWeights(kernel: k2, bias: up.bias)
        #expect(up.preparedInputShape == x.shape)
        #expect(try up(x) == op(x, k2))
        #expect(try before(x) == op(x, k1))
        // a conv with groups and a bias; weights set before any build are not prepared
        var conv = Conv2D(filters: 6, kernelSize: 3, padding: .same, groups: 2)
        let kc = try Tensor(randomUniform: [3, 3, 4, 6], seed: 7), bc = try Tensor(randomUniform: [6], seed: 8)
        try conv.setWeights(kernel: kc, bias: bc)
        #expect(conv.preparedInputShape == nil)
        let xc = try Tensor(randomUniform: [3, 5, 6, 8], seed: 9)
        let want = try conv2d(xc, filters: kc, padding: .same, bias: bc)
        #expect(try conv(xc) == want)
        try conv.build(inputShape: xc.shape)
        #expect(conv.preparedInputShape == xc.shape)
        #expect(try conv(xc) == want)
        // the 1-D and 3-D layers prepare too
        let c1 = try Conv1DTranspose(filters: 2, kernelSize: 3, strides: 2).built(inputShape: [2, 5, 4])
        #expect(c1.preparedInputShape == [2, 5, 4])
        let c3 = try Conv3D(filters: 2, kernelSize: 2).built(inputShape: [1, 3, 3, 3, 2])
        #expect(c3.preparedInputShape == [1, 3, 3, 3, 2])
    }

    @Test("weights are settable and checked")
    func settableWeights() throws {
        var layer = Conv2DTranspose(filters: 2, kernelSize: 3, strides: 2, padding: .same)
        #expect(thrownCode { _ = try layer(try Tensor(zeros: [1, 2, 2, 1])) } == .invalidArgument)
        let kernel = try Tensor(repeating: 1, shape: [3, 3, 2, 1])
        try layer.setWeights(kernel: kernel, bias: Tensor([0.5, -0.5]))
        let x = try Tensor(shape: [1, 2, 2, 1], range: 1...4)
        let y = try layer(x)
        #expect(y == (try conv2dTranspose(x, filters: kernel, outputShape: [1, 4, 4, 2], strides: 2, padding: .same,
                                          bias: Tensor([0.5, -0.5]))))
        #expect(thrownCode { try layer.setWeights(kernel: try Tensor(zeros: [3, 3, 1, 1]), bias: Tensor([0, 0])) }
            == .shapeMismatch)
        #expect(thrownCode { try layer.setWeights(kernel: kernel, bias: Tensor([0])) } == .shapeMismatch)
        #expect(thrownCode { try layer.setWeights(kernel: kernel, bias: nil) } == .shapeMismatch)
        // Set weights survive building; a kernel that does not fit the input is an error.
        #expect(try layer.built(inputShape: [1, 2, 2, 1]).kernel == kernel)
        #expect(thrownCode { _ = try layer.built(inputShape: [1, 2, 2, 3]) } == .shapeMismatch)
    }

    @Test("MaxUnpool paired with its MaxPool inside Sequential equals the ops")
    func poolingPair() throws {
        let x = try Tensor(randomUniform: [2, 5, 6, 3], seed: 4)
        let pool = MaxPool(poolSize: 2, padding: .same)
        let model = try Sequential(inputShape: x.shape, [pool, AvgPool(poolSize: 1), MaxUnpool(pairedWith: pool)])
        #expect(try model.outputShape(forInputShape: x.shape) == x.shape)
        let (pooled, argmax) = try maxPoolWithArgmax(x, ksize: 2, strides: 2, padding: .same)
        let expected = try maxUnpool(pooled, argmax: argmax, outputShape: x.shape, ksize: 2, strides: 2, padding: .same)
        #expect(try model(x) == expected)
        #expect(try pool(x) == pooled)
        let (p2, a2) = try pool.withIndices(x)
        #expect(try MaxUnpool(pairedWith: pool).unpool(p2, argmax: a2, outputShape: x.shape) == expected)
        #expect(try AvgPool(poolSize: 2, strides: 1)(x) == (try avgPool(x, ksize: 2, strides: 1)))
        // Unpooling without its pool having run is an error, not a crash.
        #expect(thrownCode { _ = try MaxUnpool(pairedWith: pool)(pooled) } == .invalidArgument)
        #expect(thrownCode { _ = try Sequential(inputShape: x.shape, [MaxUnpool(pairedWith: pool)]) }
            == .invalidArgument)
    }

    @Test("Sequential builds layers with distinct reproducible seeds; Reshape")
    func sequential() throws {
        let make = { try Sequential(inputShape: [1, 32], seed: 5, [
            Reshape([2, 2, 8]),
            Conv2DTranspose(filters: 4, kernelSize: 3, strides: 2, padding: .same, activation: .relu),
            Conv2DTranspose(filters: 4, kernelSize: 3, strides: 2, padding: .same, activation: .tanh),
        ]) }
        let a = try make(), b = try make()
        let k1 = try #require((a.layers[1] as? Conv2DTranspose)?.kernel)
        let k2 = try #require((a.layers[2] as? Conv2DTranspose)?.kernel)
        #expect(k1 == (b.layers[1] as? Conv2DTranspose)?.kernel)
        #expect(Array(k1.scalars.prefix(16)) != Array(k2.scalars.prefix(16)), "layers get distinct seeds")
        let x = try Tensor(randomUniform: [1, 32], seed: 1)
        let y = try a(x)
        #expect(try y.shape == [1, 8, 8, 4] && y == b(x))
        #expect(y.scalars.allSatisfy { $0 > -1 && $0 < 1 })
        #expect(try Reshape([-1, 4]).outputShape(forInputShape: [3, 2, 6]) == [3, 3, 4])
        #expect(thrownCode { _ = try Reshape([5]).outputShape(forInputShape: [3, 2, 6]) } == .countMismatch)
    }

    @Test("the DCGAN generator of keras_dcgan.golden matches TF/Keras")
    func dcgan() throws {
        let cases = try Golden.parse(Golden.directory.appendingPathComponent("keras_dcgan.golden"))
        let c = try #require(cases.first { $0.field("op")?.first == "dcgan_generator" })
        let why = GoldenRunner.check(c)
        #expect(why == nil, "\(why ?? "")")
    }
}
