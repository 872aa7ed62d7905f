internal import CDeconv

/// A convolution or transposed convolution with its parameters, shapes and filters fixed once
/// (libdeconv's `deconv_prepared_conv`). Creating it validates everything as the one-shot
/// `conv2d` / `conv2dTranspose` (and 1-D / 3-D) functions do and packs the filters into the
/// layout the fast kernels read; every call then only reads the input. Use it when the same
/// layer runs many times: the one-shot functions repack the filters on every call.
///
/// A call gives bitwise the same result as the matching one-shot function. The object is
/// immutable, so several tasks or threads may call it at once (each with its own context, or
/// nil). The C object is freed when the last reference goes away.
public final class PreparedConv: @unchecked Sendable {
    // @unchecked: the handle is immutable after init and libdeconv documents a prepared conv
    // as safe to run from several threads at once.
    let handle: OpaquePointer

    /// The input shape every call takes, in `dataFormat`.
    public let inputShape: [Int]
    /// The shape of every call's result, in `dataFormat`.
    public let outputShape: [Int]
    /// The layout of inputs and outputs.
    public let dataFormat: DataFormat
    /// True for a transposed conv.
    public let isTransposed: Bool

    /// Prepares `conv1d` / `conv2d` / `conv3d` (rank from `inputShape`: 3, 4 or 5 dims) with
    /// filters `[k..., C / groups, OC]`. The filters are copied; `bias` is given per call.
    /// - Throws: `DeconvError` with the status the one-shot function would report.
    public convenience init(convInputShape inputShape: [Int], filters: Tensor, strides: PerDim = 1,
                            padding: Padding = .valid, dataFormat: DataFormat = .channelsLast,
                            dilations: PerDim = 1, activation: Activation = .none) throws {
        try self.init(transposed: false, inputShape: inputShape, filters: filters, outputShape: nil,
                      strides: strides, padding: padding, dataFormat: dataFormat, dilations: dilations,
                      activation: activation)
    }

    /// Prepares `conv1dTranspose` / `conv2dTranspose` / `conv3dTranspose` with filters
    /// `[k..., OC / groups, IC]` and the full `outputShape`, validated by TF's rule.
    /// - Throws: `DeconvError` (`.invalidOutputShape` names the dim and the accepted range).
    public convenience init(transposeInputShape inputShape: [Int], filters: Tensor, outputShape: [Int],
                            strides: PerDim = 1, padding: Padding = .valid,
                            dataFormat: DataFormat = .channelsLast, dilations: PerDim = 1,
                            activation: Activation = .none) throws {
        try self.init(transposed: true, inputShape: inputShape, filters: filters, outputShape: outputShape,
                      strides: strides, padding: padding, dataFormat: dataFormat, dilations: dilations,
                      activation: activation)
    }

    private init(transposed: Bool, inputShape: [Int], filters: Tensor, outputShape: [Int]?,
                 strides: PerDim, padding: Padding, dataFormat: DataFormat, dilations: PerDim,
                 activation: Activation) throws {
        guard (3...5).contains(inputShape.count) else {
            throw DeconvError(.invalidShape,
                              "inputShape \(inputShape) must have 3, 4 or 5 dims (1, 2 or 3 spatial dims)")
        }
        let spatialRank = inputShape.count - 2
        var params = try convParams(spatialRank: spatialRank, layout: dataFormat, padding: padding,
                                    strides: strides, dilations: dilations, activation: activation)
        var cInput = try cShape(inputShape, name: "inputShape")
        var cFilter = try cShape(filters.shape, name: "filters")
        var cOutput = try outputShape.map { try cShape($0, name: "outputShape") } ?? deconv_shape()
        var created: OpaquePointer?
        try filters.scalars.withUnsafeBufferPointer { w in
            try check {
                transposed
                    ? deconv_prepared_conv_transpose_create(&params, &cInput, &cFilter, w.baseAddress,
                                                            Int64(w.count), &cOutput, &created, $0)
                    : deconv_prepared_conv_create(&params, &cInput, &cFilter, w.baseAddress,
                                                  Int64(w.count), &created, $0)
            }
        }
        guard let created else { throw DeconvError(.noMemory, "libdeconv returned no prepared conv") }
        var shownIn = deconv_shape(), shownOut = deconv_shape()
        do {
            try check { deconv_prepared_conv_shapes(created, &shownIn, &shownOut, $0) }
            self.outputShape = try swiftShape(shownOut, name: "output")
        } catch {
            deconv_prepared_conv_destroy(created)
            throw error
        }
        handle = created
        self.inputShape = inputShape
        self.dataFormat = dataFormat
        isTransposed = transposed
    }

    deinit { deconv_prepared_conv_destroy(handle) }

    /// Scratch bytes a call needs with `context` (its thread count); the context caches it.
    public func workspaceSize(context: ExecutionContext? = nil) throws -> Int {
        var bytes = 0
        try check { deconv_prepared_conv_workspace_size(context.cHandle, handle, &bytes, $0) }
        return bytes
    }

    /// Runs the prepared op on `input` (shape `inputShape`, layout `dataFormat`), adding `bias`
    /// (output-channel values) before the activation.
    /// - Throws: `.shapeMismatch` for an input of another shape or layout, or a bias of the
    ///   wrong length; otherwise the statuses of the one-shot function.
    public func callAsFunction(_ input: Tensor, bias: Tensor? = nil,
                               context: ExecutionContext? = nil) throws -> Tensor {
        guard input.shape == inputShape else {
            throw DeconvError(.shapeMismatch, "input shape \(input.shape) is not the prepared \(inputShape)")
        }
        guard input.layout == dataFormat else {
            throw DeconvError(.shapeMismatch,
                              "input layout \(input.layout) is not the prepared \(dataFormat)")
        }
        var output = try makeArray(repeating: Float(0), count: try elementCount(of: outputShape, name: "output"))
        let biasScalars = bias?.scalars ?? []
        try input.scalars.withUnsafeBufferPointer { x in
            try biasScalars.withUnsafeBufferPointer { b in
                try output.withUnsafeMutableBufferPointer { y in
                    try check {
                        deconv_prepared_conv_run(context.cHandle, handle, x.baseAddress, Int64(x.count),
                                                 b.baseAddress, Int64(b.count), y.baseAddress,
                                                 Int64(y.count), $0)
                    }
                }
            }
        }
        return Tensor(validatedShape: outputShape, scalars: output, layout: dataFormat)
    }
}
