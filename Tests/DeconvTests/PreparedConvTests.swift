import Deconv
import Foundation
import Testing

// PreparedConv: bitwise equal to the one-shot functions (conv and transposed conv, every rank,
// both layouts, bias and activation, 1 and N threads), errors at creation and per call, and
// concurrent calls of one object.

@Suite("PreparedConv")
struct PreparedConvTests {
    @Test("conv2d: same bits as the one-shot call, any thread count")
    func conv2dEqual() throws {
        let x = try Tensor(randomUniform: [2, 11, 9, 40], seed: 1)
        let w = try Tensor(randomUniform: [3, 3, 40, 37], seed: 2)
        let bias = try Tensor(randomUniform: [37], seed: 3)
        let want = try conv2d(x, filters: w, strides: 2, padding: .same, bias: bias, activation: .relu6)
        let prepared = try PreparedConv(convInputShape: x.shape, filters: w, strides: 2, padding: .same,
                                        activation: .relu6)
        #expect(!prepared.isTransposed)
        #expect(prepared.outputShape == want.shape)
        #expect(prepared.inputShape == x.shape)
        #expect(try prepared(x, bias: bias) == want)
        for threads in [1, 2, 3] {
            let context = try ExecutionContext(threadCount: threads)
            #expect(try prepared(x, bias: bias, context: context) == want)
            #expect(try prepared.workspaceSize(context: context) >= 0)
        }
        // Without bias too (the bias is per call).
        let noBias = try conv2d(x, filters: w, strides: 2, padding: .same, activation: .relu6)
        #expect(try prepared(x) == noBias)
    }

    @Test("conv2dTranspose, conv1dTranspose, channels-first conv3d: same bits as the one-shot calls")
    func transposeEqual() throws {
        let x = try Tensor(randomUniform: [2, 5, 6, 48], seed: 4)
        let w = try Tensor(randomUniform: [5, 5, 20, 48], seed: 5)
        let bias = try Tensor(randomUniform: [20], seed: 6)
        let out = [2, 10, 11, 20]
        let want = try conv2dTranspose(x, filters: w, outputShape: out, strides: 2, padding: .same,
                                       bias: bias, activation: .leakyReLU())
        let prepared = try PreparedConv(transposeInputShape: x.shape, filters: w, outputShape: out,
                                        strides: 2, padding: .same, activation: .leakyReLU())
        #expect(prepared.isTransposed)
        #expect(prepared.outputShape == out)
        let context = try ExecutionContext(threadCount: 2)
        #expect(try prepared(x, bias: bias) == want)
        #expect(try prepared(x, bias: bias, context: context) == want)

        let x1 = try Tensor(randomUniform: [3, 7, 5], seed: 7)
        let w1 = try Tensor(randomUniform: [3, 2, 5], seed: 8)
        let want1 = try conv1dTranspose(x1, filters: w1, outputShape: [3, 15, 2], strides: 2, padding: .valid)
        let p1 = try PreparedConv(transposeInputShape: x1.shape, filters: w1, outputShape: [3, 15, 2],
                                  strides: 2, padding: .valid)
        #expect(try p1(x1) == want1)

        let cf = try Tensor(randomUniform: [2, 6, 3, 4, 5], seed: 9, layout: .channelsFirst)
        let w3 = try Tensor(randomUniform: [2, 3, 3, 6, 6], seed: 10)
        let want3 = try conv3d(cf, filters: w3, padding: .same)
        let p3 = try PreparedConv(convInputShape: cf.shape, filters: w3, padding: .same,
                                  dataFormat: .channelsFirst)
        #expect(try p3(cf) == want3)
    }

    @Test("creation errors carry the one-shot statuses")
    func creationErrors() throws {
        let w = try Tensor(randomUniform: [3, 3, 4, 8], seed: 11)
        #expect(throws: DeconvError.self) {
            _ = try PreparedConv(convInputShape: [1, 5, 5], filters: w)
        }
        let rank = try? PreparedConv(convInputShape: [5, 5], filters: w)
        #expect(rank == nil)
        do {
            _ = try PreparedConv(convInputShape: [1, 5, 5, 3], filters: w)
            Issue.record("channel mismatch accepted")
        } catch let error as DeconvError {
            #expect(error.code == .shapeMismatch)
        }
        do {
            let wt = try Tensor(randomUniform: [3, 3, 8, 4], seed: 12)
            _ = try PreparedConv(transposeInputShape: [1, 5, 5, 4], filters: wt, outputShape: [1, 8, 10, 8],
                                 strides: 2, padding: .same)
            Issue.record("bad output shape accepted")
        } catch let error as DeconvError {
            #expect(error.code == .invalidOutputShape)
            #expect(error.message.contains("9..10"))
        }
    }

    @Test("call errors: input shape, layout, bias length")
    func callErrors() throws {
        let w = try Tensor(randomUniform: [3, 3, 4, 8], seed: 13)
        let prepared = try PreparedConv(convInputShape: [1, 6, 5, 4], filters: w, padding: .same)
        let transposedShape = try Tensor(randomUniform: [1, 5, 6, 4], seed: 14)
        do {
            _ = try prepared(transposedShape)
            Issue.record("an input of another shape with the same count was accepted")
        } catch let error as DeconvError {
            #expect(error.code == .shapeMismatch)
        }
        let cf = try Tensor(randomUniform: [1, 6, 5, 4], seed: 15, layout: .channelsFirst)
        do {
            _ = try prepared(cf)
            Issue.record("an input of another layout was accepted")
        } catch let error as DeconvError {
            #expect(error.code == .shapeMismatch)
        }
        let x = try Tensor(randomUniform: [1, 6, 5, 4], seed: 16)
        do {
            _ = try prepared(x, bias: try Tensor(randomUniform: [7], seed: 17))
            Issue.record("a bias of the wrong length was accepted")
        } catch let error as DeconvError {
            #expect(error.code == .shapeMismatch)
        }
    }

    @Test("one object called from several tasks at once")
    func concurrentCalls() async throws {
        let x = try Tensor(randomUniform: [2, 9, 9, 24], seed: 18)
        let w = try Tensor(randomUniform: [4, 4, 16, 24], seed: 19)
        let out = [2, 18, 18, 16]
        let prepared = try PreparedConv(transposeInputShape: x.shape, filters: w, outputShape: out,
                                        strides: 2, padding: .same)
        let want = try conv2dTranspose(x, filters: w, outputShape: out, strides: 2, padding: .same)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<6 {
                group.addTask {
                    let context = i % 2 == 0 ? nil : try ExecutionContext(threadCount: 2)
                    return try prepared(x, context: context) == want
                }
            }
            var all: [Bool] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 6 && results.allSatisfy { $0 })
    }
}
