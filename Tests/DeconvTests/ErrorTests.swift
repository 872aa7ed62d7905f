import CDeconv
@testable import Deconv
import Testing

// Every libdeconv status becomes the matching DeconvError.Code. Statuses the Swift API can
// reach are triggered through it; the ones it cannot (NULL pointers, struct sizes, overlapping
// buffers, a too-small workspace) are triggered through the raw C API and mapped with the same
// internal conversion the API uses.

/// Runs `body` and returns the DeconvError code it threw (nil if it did not throw one).
func thrownCode(_ body: () throws -> Void) -> DeconvError.Code? {
    do {
        try body()
        return nil
    } catch let error as DeconvError {
        #expect(!error.message.isEmpty, "an error without a message: \(error.code)")
        return error.code
    } catch {
        Issue.record("not a DeconvError: \(error)")
        return nil
    }
}

/// A C error report mapped through the API's one conversion.
func mapped(_ report: deconv_error) -> DeconvError { DeconvError(report) }

let x3 = try! Tensor(shape: [1, 3, 3, 1], range: 1...9)
let k3 = try! Tensor(repeating: 1, shape: [3, 3, 1, 1])

@Suite("Errors: every status maps to its DeconvError")
struct ErrorTests {
    @Test("codes equal the C enum values and names, unknown codes survive")
    func codesMatchC() {
        #expect(DeconvError.Code.allKnown.count == Int(DECONV_STATUS_COUNT) - 1)
        for (i, code) in DeconvError.Code.allKnown.enumerated() {
            let status = deconv_status(rawValue: .init(i + 1))
            #expect(code.rawValue == Int32(i + 1))
            #expect(code.description == String(cString: deconv_status_string(status)))
        }
        let future = DeconvError.Code(rawValue: 99)
        #expect(future.description == "unknown status")
        var report = deconv_error()
        report.status = deconv_status(rawValue: 99)
        #expect(mapped(report).code == future)
    }

    @Test("NULL_POINTER (raw C)")
    func nullPointer() {
        var report = deconv_error()
        let status = deconv_conv_output_shape(nil, nil, nil, nil, nil, &report)
        #expect(status == DECONV_ERR_NULL_POINTER)
        let error = mapped(report)
        #expect(error.code == .nullPointer)
        #expect(!error.message.isEmpty)
    }

    @Test("STRUCT_SIZE (raw C)")
    func structSize() throws {
        var params = try convParams(spatialRank: 2, layout: .channelsLast, padding: .valid, strides: 1,
                                    dilations: 1, activation: .none)
        params.struct_size = 3
        var input = try cShape([1, 3, 3, 1], name: "input"), filter = try cShape([3, 3, 1, 1], name: "filter")
        var output = deconv_shape()
        var report = deconv_error()
        #expect(deconv_conv_output_shape(&params, &input, &filter, &output, nil, &report) == DECONV_ERR_STRUCT_SIZE)
        #expect(mapped(report).code == .structSize)
    }

    @Test("INVALID_ENUM: EXPLICIT is not a Keras padding")
    func invalidEnum() {
        #expect(thrownCode { _ = try kerasConvTransposeOutputSize(inputSize: 3, kernelSize: 3, stride: 2,
                                                                 padding: .explicit([(1, 1)])) } == .invalidEnum)
        #expect(thrownCode {
            _ = try Conv2DTranspose(filters: 1, kernelSize: 3, padding: .explicit([(0, 0), (0, 0)]))
                .built(inputShape: [1, 3, 3, 1])
        } == .invalidEnum)
    }

    @Test("INVALID_ARGUMENT: stride 0, NaN activation parameter")
    func invalidArgument() {
        #expect(thrownCode { _ = try conv2d(x3, filters: k3, strides: 0) } == .invalidArgument)
        #expect(thrownCode { _ = try conv2d(x3, filters: k3, activation: .leakyReLU(alpha: .nan)) } == .invalidArgument)
        #expect(thrownCode { _ = try maxPool(x3, ksize: 2, strides: -1) } == .invalidArgument)
    }

    @Test("INVALID_SHAPE: wrong rank, empty filter")
    func invalidShape() throws {
        let rank3 = try Tensor(shape: [1, 3, 3], range: 1...9)
        #expect(thrownCode { _ = try conv2d(rank3, filters: k3) } == .invalidShape)
        #expect(thrownCode { _ = try conv2d(x3, filters: try Tensor(zeros: [0, 3, 1, 1])) } == .invalidShape)
    }

    @Test("SHAPE_MISMATCH: bias length, channels")
    func shapeMismatch() throws {
        #expect(thrownCode { _ = try conv2d(x3, filters: k3, bias: Tensor([1, 2])) } == .shapeMismatch)
        let k2 = try Tensor(repeating: 1, shape: [3, 3, 2, 1])
        #expect(thrownCode { _ = try conv2d(x3, filters: k2) } == .shapeMismatch)
    }

    @Test("OUTPUT_SIZE: window larger than the input")
    func outputSize() throws {
        let k7 = try Tensor(repeating: 1, shape: [7, 7, 1, 1])
        #expect(thrownCode { _ = try conv2d(x3, filters: k7) } == .outputSize)
        #expect(thrownCode { _ = try maxPool(x3, ksize: 7, strides: 1) } == .outputSize)
    }

    @Test("INVALID_OUTPUT_SHAPE: a transposed conv size TF rejects, names the accepted range")
    func invalidOutputShape() throws {
        let code = thrownCode {
            _ = try conv2dTranspose(x3, filters: k3, outputShape: [1, 7, 5, 1], strides: 2, padding: .same)
        }
        #expect(code == .invalidOutputShape)
        do {
            _ = try conv2dTranspose(x3, filters: k3, outputShape: [1, 7, 5, 1], strides: 2, padding: .same)
        } catch let error as DeconvError {
            #expect(error.message.contains("5"), "message should name the accepted range: \(error.message)")
        }
        let (pooled, argmax) = try maxPoolWithArgmax(x3, ksize: 2, strides: 2)
        #expect(thrownCode {
            _ = try maxUnpool(pooled, argmax: argmax, outputShape: [1, 9, 9, 1], ksize: 2, strides: 2)
        } == .invalidOutputShape)
    }

    @Test("COUNT_MISMATCH: argmax count, and Swift-side scalar counts")
    func countMismatch() throws {
        let (pooled, _) = try maxPoolWithArgmax(x3, ksize: 2, strides: 2)
        let wrong = try IndexTensor(shape: [2], indices: [0, 0])
        #expect(thrownCode {
            _ = try maxUnpool(pooled, argmax: wrong, outputShape: x3.shape, ksize: 2, strides: 2)
        } == .countMismatch)
        #expect(thrownCode { _ = try Tensor(shape: [2, 2], scalars: [1, 2, 3]) } == .countMismatch)
        #expect(thrownCode { _ = try x3.reshaped(to: [4, 2]) } == .countMismatch)
        // And the raw C status maps to the same code.
        var params = try convParams(spatialRank: 2, layout: .channelsLast, padding: .valid, strides: 1,
                                    dilations: 1, activation: .none)
        var input = try cShape([1, 3, 3, 1], name: "input"), filter = try cShape([3, 3, 1, 1], name: "filter")
        var report = deconv_error()
        var out: [Float] = [0]
        let status = x3.scalars.withUnsafeBufferPointer { x in
            k3.scalars.withUnsafeBufferPointer { w in
                deconv_conv(nil, &params, &input, x.baseAddress, 8, &filter, w.baseAddress, 9, nil, 0, &out, 1, &report)
            }
        }
        #expect(status == DECONV_ERR_COUNT_MISMATCH)
        #expect(mapped(report).code == .countMismatch)
    }

    @Test("OVERFLOW: extents above 2^40")
    func overflow() {
        #expect(thrownCode { _ = try conv2d(x3, filters: k3, strides: PerDim(1 << 41)) } == .overflow)
        #expect(thrownCode {
            _ = try conv2dTranspose(x3, filters: k3, outputShape: [1, 1 << 41, 5, 1], strides: 2, padding: .same)
        } == .overflow)
    }

    @Test("INDEX_OUT_OF_RANGE: an argmax outside the output")
    func indexOutOfRange() throws {
        let (pooled, argmax) = try maxPoolWithArgmax(x3, ksize: 2, strides: 2)
        var bad = argmax
        try bad.setIndex(9, at: [0, 0, 0, 0])
        #expect(thrownCode {
            _ = try maxUnpool(pooled, argmax: bad, outputShape: x3.shape, ksize: 2, strides: 2)
        } == .indexOutOfRange)
        try bad.setIndex(-1, at: [0, 0, 0, 0])
        #expect(thrownCode {
            _ = try maxUnpool(pooled, argmax: bad, outputShape: x3.shape, ksize: 2, strides: 2)
        } == .indexOutOfRange)
    }

    @Test("OVERLAP (raw C): output aliasing the input")
    func overlap() throws {
        var params = try poolParams(spatialRank: 2, layout: .channelsLast, ksize: 1, strides: 1, padding: .valid)
        var shape = try cShape([1, 3, 3, 1], name: "input")
        var buffer = x3.scalars
        var report = deconv_error()
        let status = buffer.withUnsafeMutableBufferPointer { b in
            deconv_max_pool(nil, &params, &shape, b.baseAddress, 9, b.baseAddress, 9, &report)
        }
        #expect(status == DECONV_ERR_OVERLAP)
        #expect(mapped(report).code == .overlap)
        #expect(buffer == x3.scalars, "outputs untouched on error")
    }

    @Test("WORKSPACE_TOO_SMALL (raw C): a caller workspace below the size query")
    func workspaceTooSmall() throws {
        var ctx: OpaquePointer?
        #expect(deconv_context_create(1, &ctx, nil) == DECONV_OK)
        defer { deconv_context_destroy(ctx) }
        // A conv big enough that some kernel wants scratch; find one whose query says so.
        var found = false
        for (n, hw, c) in [(1, 8, 8), (2, 16, 16), (1, 32, 32), (4, 32, 64)] {
            for transposed in [false, true] {
                var params = try convParams(spatialRank: 2, layout: .channelsLast, padding: .same, strides: 2,
                                            dilations: 1, activation: .none)
                let inShape = [n, hw, hw, c]
                var input = try cShape(inShape, name: "input"), filter = try cShape([3, 3, c, c], name: "filter")
                var outShape = try cShape([n, hw * 2, hw * 2, c], name: "output")
                var bytes = 0
                var report = deconv_error()
                let q = transposed
                    ? deconv_conv_transpose_workspace_size(ctx, &params, &input, &filter, &outShape, &bytes, &report)
                    : deconv_conv_workspace_size(ctx, &params, &input, &filter, &bytes, &report)
                #expect(q == DECONV_OK)
                guard bytes > 1 else { continue }
                var scratch = [UInt8](repeating: 0, count: 1)
                let x = try Tensor(randomUniform: inShape, seed: 1), w = try Tensor(randomUniform: [3, 3, c, c], seed: 2)
                let outCount = transposed ? n * hw * 2 * hw * 2 * c : n * ((hw + 1) / 2) * ((hw + 1) / 2) * c
                var y = [Float](repeating: 0, count: outCount)
                let status = scratch.withUnsafeMutableBytes { s -> deconv_status in
                    guard deconv_context_set_workspace(ctx, s.baseAddress, 1, nil) == DECONV_OK else { return DECONV_OK }
                    defer { _ = deconv_context_set_workspace(ctx, nil, 0, nil) }
                    return x.scalars.withUnsafeBufferPointer { xp in
                        w.scalars.withUnsafeBufferPointer { wp in
                            y.withUnsafeMutableBufferPointer { yp in
                                transposed
                                    ? deconv_conv_transpose(ctx, &params, &input, xp.baseAddress, Int64(xp.count), &filter,
                                                            wp.baseAddress, Int64(wp.count), nil, 0, &outShape,
                                                            yp.baseAddress, Int64(yp.count), &report)
                                    : deconv_conv(ctx, &params, &input, xp.baseAddress, Int64(xp.count), &filter,
                                                  wp.baseAddress, Int64(wp.count), nil, 0, yp.baseAddress,
                                                  Int64(yp.count), &report)
                            }
                        }
                    }
                }
                #expect(status == DECONV_ERR_WORKSPACE_TOO_SMALL)
                #expect(mapped(report).code == .workspaceTooSmall)
                found = true
                break
            }
            if found { break }
        }
        #expect(found, "no conv config needed a workspace, so WORKSPACE_TOO_SMALL was not triggered")
    }

    @Test("NO_MEMORY: an output no allocator can provide is a thrown error, not a crash")
    func noMemory() throws {
        // Valid for TF's rule (SAME, stride 2^19: sizes 2^19+1 ... 2^20), but 2^40 floats (4 TiB).
        let x = try Tensor(repeating: 1, shape: [1, 2, 2, 1])
        let w = try Tensor(repeating: 1, shape: [1, 1, 1, 1])
        #expect(thrownCode {
            _ = try conv2dTranspose(x, filters: w, outputShape: [1, 1 << 20, 1 << 20, 1], strides: PerDim(1 << 19),
                                    padding: .same)
        } == .noMemory)
        // The C status maps too (the library cannot be made to fail an allocation on demand).
        var report = deconv_error()
        report.status = DECONV_ERR_NO_MEMORY
        #expect(mapped(report).code == .noMemory)
    }

    @Test("SYSTEM: thread-count limits are checked; the C status maps")
    func system() {
        // The OS refusing threads cannot be provoked reliably; the mapping is checked instead,
        // and out-of-range thread counts are errors rather than crashes.
        var report = deconv_error()
        report.status = DECONV_ERR_SYSTEM
        #expect(mapped(report).code == .system)
        #expect(thrownCode { _ = try ExecutionContext(threadCount: -1) } == .invalidArgument)
        #expect(thrownCode { _ = try ExecutionContext(threadCount: 1025) } == .invalidArgument)
        #expect(thrownCode { _ = try ExecutionContext(threadCount: .max) } == .invalidArgument)
    }
}
