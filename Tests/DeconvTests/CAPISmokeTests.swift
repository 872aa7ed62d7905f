import CDeconv
import Testing

// The raw C API, called from Swift exactly as a C program would: the module map and the
// forwarding header expose include/deconv.h as is.

@Suite("Raw C API from Swift")
struct CAPISmokeTests {
    @Test("version, status strings, a transposed conv through the C entry points")
    func smoke() throws {
        #expect(deconv_version() == DECONV_VERSION_MAJOR * 10000 + DECONV_VERSION_MINOR * 100 + DECONV_VERSION_PATCH)
        #expect(String(cString: deconv_version_string()) == "\(DECONV_VERSION_MAJOR).\(DECONV_VERSION_MINOR).\(DECONV_VERSION_PATCH)")
        #expect(String(cString: deconv_status_string(DECONV_OK)).isEmpty == false)

        var params = deconv_conv_params()
        params.struct_size = MemoryLayout<deconv_conv_params>.size
        params.spatial_rank = 2
        params.layout = DECONV_CHANNELS_LAST
        params.padding = DECONV_PADDING_SAME
        params.strides = (2, 2, 1)
        params.dilations = (1, 1, 1)
        params.activation = DECONV_ACTIVATION_NONE
        var input = deconv_shape(rank: 4, dims: (1, 3, 3, 1, 0))
        var filter = deconv_shape(rank: 4, dims: (3, 3, 1, 1, 0))
        var output = deconv_shape(rank: 4, dims: (1, 6, 6, 1, 0))

        var low: (Int64, Int64, Int64) = (0, 0, 0), high: (Int64, Int64, Int64) = (0, 0, 0)
        var report = deconv_error()
        let rangeStatus = withUnsafeMutableBytes(of: &low) { lo in
            withUnsafeMutableBytes(of: &high) { hi in
                deconv_conv_transpose_output_range(&params, &input, &filter,
                                                   lo.baseAddress!.assumingMemoryBound(to: Int64.self),
                                                   hi.baseAddress!.assumingMemoryBound(to: Int64.self), &report)
            }
        }
        #expect(rangeStatus == DECONV_OK && report.status == DECONV_OK)
        #expect(low.0 == 5 && high.0 == 6 && low.1 == 5 && high.1 == 6)

        // tf-semantics.md's worked example, output_shape 6x6 (identity kernel).
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        let w: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        var y = [Float](repeating: .nan, count: 36)
        let status = deconv_conv_transpose(nil, &params, &input, x, 9, &filter, w, 9, nil, 0, &output, &y, 36, &report)
        #expect(status == DECONV_OK)
        #expect(y == [1, 0, 2, 0, 3, 0,
                      0, 1, 0, 2, 0, 3,
                      4, 0, 6, 0, 8, 0,
                      0, 4, 0, 5, 0, 6,
                      7, 0, 12, 0, 14, 0,
                      0, 7, 0, 8, 0, 9])

        // An invalid output_shape: the status, a message, and the output untouched.
        var bad = deconv_shape(rank: 4, dims: (1, 7, 6, 1, 0))
        var untouched = [Float](repeating: -1, count: 42)
        #expect(deconv_conv_transpose(nil, &params, &input, x, 9, &filter, w, 9, nil, 0, &bad, &untouched, 42,
                                      &report) == DECONV_ERR_INVALID_OUTPUT_SHAPE)
        #expect(report.status == DECONV_ERR_INVALID_OUTPUT_SHAPE)
        #expect(untouched.allSatisfy { $0 == -1 })

        var ctx: OpaquePointer?
        #expect(deconv_context_create(3, &ctx, nil) == DECONV_OK)
        #expect(deconv_context_num_threads(ctx) == 3)
        deconv_context_destroy(ctx)
        #expect(deconv_context_num_threads(nil) == 1)
    }
}
