import Deconv
import Testing

// No argument from Swift may crash the process: extreme and malformed values must come back as
// thrown DeconvErrors. Each closure below would trap (or worse) if it reached unchecked code.

@Suite("Hostile arguments throw, never crash")
struct HostileArgumentTests {
    static let x = try! Tensor(randomUniform: [1, 4, 4, 2], seed: 1)
    static let w = try! Tensor(randomUniform: [2, 2, 2, 2], seed: 2)

    static let calls: [(String, @Sendable () throws -> Void)] = [
        ("stride Int.max", { _ = try conv2d(x, filters: w, strides: PerDim(Int.max)) }),
        ("stride Int.min", { _ = try conv2d(x, filters: w, strides: PerDim(Int.min)) }),
        ("dilation Int.max", { _ = try conv2d(x, filters: w, dilations: PerDim(Int.max)) }),
        ("no strides", { _ = try conv2d(x, filters: w, strides: PerDim([])) }),
        ("7 strides", { _ = try conv2d(x, filters: w, strides: PerDim([1, 1, 1, 1, 1, 1, 1])) }),
        ("pad Int.max", { _ = try conv2d(x, filters: w, padding: .explicit([(Int.max, 0), (0, 0)])) }),
        ("pad -1", { _ = try conv2d(x, filters: w, padding: .explicit([(-1, 0), (0, 0)])) }),
        ("rank 6 input", { _ = try conv2d(try Tensor(zeros: [1, 1, 1, 1, 1, 1]), filters: w) }),
        ("rank 0 input", { _ = try conv2d(try Tensor(shape: [], scalars: [1]), filters: w) }),
        ("rank 2 pool", { _ = try maxPool(try Tensor(zeros: [4, 4]), ksize: 2, strides: 2) }),
        ("ksize 0", { _ = try maxPool(x, ksize: 0, strides: 1) }),
        ("ksize Int.max", { _ = try avgPool(x, ksize: PerDim(Int.max), strides: 1) }),
        ("outputShape negative", {
            _ = try conv2dTranspose(x, filters: w, outputShape: [1, -8, 8, 2], strides: 2, padding: .same)
        }),
        ("outputShape Int.max", {
            _ = try conv2dTranspose(x, filters: w, outputShape: [1, Int.max, Int.max, 2], strides: 2, padding: .same)
        }),
        ("outputShape rank 9", {
            _ = try conv2dTranspose(x, filters: w, outputShape: [Int](repeating: 1, count: 9), strides: 2)
        }),
        ("outputShape empty", { _ = try conv2dTranspose(x, filters: w, outputShape: [], strides: 2) }),
        ("unpool outputShape huge", {
            let (p, a) = try maxPoolWithArgmax(x, ksize: 2, strides: 2)
            _ = try maxUnpool(p, argmax: a, outputShape: [1, 1 << 40, 1 << 40, 2], ksize: 2, strides: 2)
        }),
        ("unpool outputShape negative", {
            _ = try avgUnpool(x, outputShape: [1, -1, 8, 2], ksize: 2, strides: 2)
        }),
        ("argmax Int64.max", {
            let (p, a) = try maxPoolWithArgmax(x, ksize: 2, strides: 2)
            var bad = a
            try bad.setIndex(.max, at: [0, 0, 0, 0])
            _ = try maxUnpool(p, argmax: bad, outputShape: x.shape, ksize: 2, strides: 2)
        }),
        ("argmax of another shape", {
            let (p, _) = try maxPoolWithArgmax(x, ksize: 2, strides: 2)
            _ = try maxUnpool(p, argmax: try IndexTensor(shape: [1], indices: [0]), outputShape: x.shape,
                              ksize: 2, strides: 2)
        }),
        ("clamp NaN", { _ = try conv2d(x, filters: w, activation: .clamp(min: .nan, max: 1)) }),
        ("clamp min > max", { _ = try conv2d(x, filters: w, activation: .clamp(min: 2, max: 1)) }),
        ("leaky alpha inf", { _ = try conv2d(x, filters: w, activation: .leakyReLU(alpha: .infinity)) }),
        ("bias of 1000", { _ = try conv2d(x, filters: w, bias: Tensor([Float](repeating: 0, count: 1000))) }),
        ("dataFormat contradiction", { _ = try conv2d(x, filters: w, dataFormat: .channelsFirst) }),
        ("keras outputPadding >= stride", {
            _ = try kerasConvTransposeOutputSize(inputSize: 3, kernelSize: 3, stride: 2, padding: .same, outputPadding: 2)
        }),
        ("keras outputPadding negative", {
            _ = try kerasConvTransposeOutputSize(inputSize: 3, kernelSize: 3, stride: 2, padding: .same, outputPadding: -5)
        }),
        ("keras Int.min input", {
            _ = try kerasConvTransposeOutputSize(inputSize: Int.min, kernelSize: 3, stride: 2, padding: .valid)
        }),
        ("layer filters 0", { _ = try Conv2DTranspose(filters: 0, kernelSize: 3).built(inputShape: [1, 4, 4, 2]) }),
        ("layer filters -3", { _ = try Conv2D(filters: -3, kernelSize: 3).built(inputShape: [1, 4, 4, 2]) }),
        ("layer kernel Int.max", {
            _ = try Conv2DTranspose(filters: 2, kernelSize: PerDim(Int.max)).built(inputShape: [1, 4, 4, 2])
        }),
        ("layer kernel 1<<40", {
            _ = try Conv2D(filters: 2, kernelSize: PerDim(1 << 40)).built(inputShape: [1, 4, 4, 2])
        }),
        ("layer wrong rank", { _ = try Conv3D(filters: 2, kernelSize: 2).built(inputShape: [1, 4, 4, 2]) }),
        ("layer groups 0", { _ = try Conv2D(filters: 2, kernelSize: 2, groups: 0).built(inputShape: [1, 4, 4, 2]) }),
        ("reshape two -1", { _ = try Reshape([-1, -1]).outputShape(forInputShape: [1, 4]) }),
        ("reshape no batch", { _ = try Reshape([1]).outputShape(forInputShape: []) }),
        ("threads -5", { _ = try ExecutionContext(threadCount: -5) }),
        ("threads Int.min", { _ = try ExecutionContext(threadCount: Int.min) }),
        ("shape query rank 1", { _ = try convOutputShape(inputShape: [3], filterShape: [1]) }),
        ("range query stride 0", {
            _ = try convTransposeOutputSizes(inputShape: [1, 3, 3, 1], filterShape: [3, 3, 1, 1], strides: 0)
        }),
        ("pads query bad output", {
            _ = try convTransposePads(inputShape: [1, 3, 3, 1], filterShape: [3, 3, 1, 1], outputShape: [1, 99, 3, 1])
        }),
        ("pool query pad >= ksize", {
            _ = try poolOutputShape(inputShape: [1, 3, 3, 1], ksize: 2, strides: 1, padding: .explicit([(2, 0), (0, 0)]))
        }),
    ]

    @Test("each hostile call throws a DeconvError", arguments: 0..<HostileArgumentTests.calls.count)
    func hostile(_ i: Int) {
        let (name, call) = HostileArgumentTests.calls[i]
        #expect(thrownCode(call) != nil, "\(name) did not throw")
    }
}
