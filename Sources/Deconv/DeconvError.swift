internal import CDeconv

/// An error thrown by every Deconv operation: the libdeconv status and the message naming the
/// argument and dim at fault.
///
/// Errors detected on the Swift side before calling C (a scalar count that does not match a
/// shape, a rank above 5, an `Int` that does not fit the C side) use the status the C library
/// would have returned for the same mistake.
public struct DeconvError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A libdeconv status code. Wraps the raw C value, so statuses added by a newer C library
    /// are carried through rather than lost.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The raw `deconv_status` value.
        public let rawValue: Int32

        /// Wraps any raw status value, known or not.
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// A required pointer was NULL (reachable only through the raw C API).
        public static let nullPointer = Code(rawValue: 1)
        /// A parameter struct's size is unknown to the library (raw C API only).
        public static let structSize = Code(rawValue: 2)
        /// An enum value or spatial rank is out of range, or reserved flags are set.
        public static let invalidEnum = Code(rawValue: 3)
        /// A scalar parameter is out of range (stride, dilation or window < 1, negative pad, ...).
        public static let invalidArgument = Code(rawValue: 4)
        /// A shape is malformed: wrong rank, a negative dim, a filter dim < 1.
        public static let invalidShape = Code(rawValue: 5)
        /// Shapes disagree: channels, batch, bias length.
        public static let shapeMismatch = Code(rawValue: 6)
        /// A forward output size would be negative (window larger than the padded input).
        public static let outputSize = Code(rawValue: 7)
        /// A transposed conv's or unpool's output shape does not map back onto the input.
        public static let invalidOutputShape = Code(rawValue: 8)
        /// An element count does not equal the product of its shape.
        public static let countMismatch = Code(rawValue: 9)
        /// A size overflows, or exceeds the library's 2^40 bound on every extent.
        public static let overflow = Code(rawValue: 10)
        /// An argmax index is negative or outside the output it scatters into.
        public static let indexOutOfRange = Code(rawValue: 11)
        /// An output buffer overlaps an input buffer (raw C API only).
        public static let overlap = Code(rawValue: 12)
        /// A caller-provided workspace is too small.
        public static let workspaceTooSmall = Code(rawValue: 13)
        /// An allocation failed; nothing was written.
        public static let noMemory = Code(rawValue: 14)
        /// The operating system refused a resource, e.g. a thread.
        public static let system = Code(rawValue: 15)

        /// Every status this version of the Swift API names, in C order (DECONV_OK excluded).
        public static let allKnown: [Code] = [
            .nullPointer, .structSize, .invalidEnum, .invalidArgument, .invalidShape,
            .shapeMismatch, .outputSize, .invalidOutputShape, .countMismatch, .overflow,
            .indexOutOfRange, .overlap, .workspaceTooSmall, .noMemory, .system,
        ]

        /// The C library's short name of the status ("invalid output_shape", ...), or
        /// "unknown status" for a value it does not know.
        public var description: String {
            String(cString: deconv_status_string(deconv_status(rawValue: .init(truncatingIfNeeded: rawValue))))
        }
    }

    /// The status the operation failed with.
    public let code: Code
    /// The message naming the argument and dim at fault.
    public let message: String

    /// Creates an error from a status code and a message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// "<status name>: <message>".
    public var description: String { message.isEmpty ? code.description : "\(code): \(message)" }
}

extension DeconvError {
    /// Builds the Swift error from a filled C error report.
    init(_ error: deconv_error) {
        var report = error
        let message = withUnsafeBytes(of: &report.message) { raw -> String in
            // The C side always NUL-terminates; bound the read by the buffer regardless.
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
        self.init(Code(rawValue: Int32(truncatingIfNeeded: error.status.rawValue)), message)
    }
}

/// Runs one C call with a fresh error report and throws if it did not return DECONV_OK.
/// The one place a C status becomes a Swift error.
func check(_ call: (UnsafeMutablePointer<deconv_error>) -> deconv_status) throws {
    var report = deconv_error()
    let status = call(&report)
    guard status != DECONV_OK else { return }
    // The status returned wins; the report carries the message for it.
    report.status = status
    throw DeconvError(report)
}
