import Deconv
import Testing

@Suite("Threads")
struct ThreadTests {
    /// Every op on one input, through `context`.
    static func runAll(_ context: ExecutionContext?) throws -> [Tensor] {
        let x = try Tensor(randomUniform: [3, 17, 13, 8], seed: 21)
        let w = try Tensor(randomUniform: [3, 3, 8, 12], seed: 22)
        let wt = try Tensor(randomUniform: [4, 4, 12, 8], seed: 23)
        let bias = try Tensor(randomUniform: [12], seed: 24)
        let cf = try Tensor(randomUniform: [2, 6, 5, 7, 9], seed: 25, layout: .channelsFirst)
        let w3 = try Tensor(randomUniform: [2, 3, 3, 6, 6], seed: 26)
        let (pooled, argmax) = try maxPoolWithArgmax(x, ksize: 3, strides: 2, padding: .same, context: context)
        return [
            try conv2d(x, filters: w, strides: 2, padding: .same, bias: bias, activation: .relu6, context: context),
            try conv2d(x, filters: w, dilations: 2, context: context),
            try conv2dTranspose(x, filters: wt, outputShape: [3, 34, 26, 12], strides: 2, padding: .same,
                                bias: bias, activation: .leakyReLU(), context: context),
            try conv3d(cf, filters: w3, padding: .same, context: context),
            try conv3dTranspose(cf, filters: w3, outputShape: [2, 6, 6, 16, 19], strides: [1, 2, 2],
                                padding: .valid, context: context),
            try maxPool(x, ksize: 3, strides: 2, padding: .same, context: context),
            try avgPool(x, ksize: 3, strides: 2, padding: .same, context: context),
            pooled,
            try maxUnpool(pooled, argmax: argmax, outputShape: x.shape, ksize: 3, strides: 2, padding: .same,
                          context: context),
            try avgUnpool(pooled, outputShape: x.shape, ksize: 3, strides: 2, padding: .same, normalize: true,
                          context: context),
        ]
    }

    @Test("identical bits for every thread count", arguments: [1, 2, 3, 4, 7, 0])
    func invariance(_ threads: Int) throws {
        let serial = try ThreadTests.runAll(nil)
        let context = try ExecutionContext(threadCount: threads)
        #expect(threads == 0 ? context.threadCount >= 1 : context.threadCount == threads)
        let parallel = try ThreadTests.runAll(context)
        #expect(serial.count == parallel.count)
        for (i, (a, b)) in zip(serial, parallel).enumerated() {
            #expect(a.shape == b.shape, "op \(i)")
            #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern), "op \(i) differs with \(threads) threads")
        }
    }

    @Test("one context shared by concurrent tasks gives the serial results")
    func sharedContext() async throws {
        let serial = try ThreadTests.runAll(nil)
        let context = try ExecutionContext(threadCount: 2)
        let results = try await withThrowingTaskGroup(of: [Tensor].self) { group in
            for _ in 0..<4 { group.addTask { try ThreadTests.runAll(context) } }
            var all: [[Tensor]] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 4)
        for r in results { #expect(r == serial) }
    }
}
