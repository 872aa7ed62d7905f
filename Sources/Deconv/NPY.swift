#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

// NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// "\x93NUMPY", major, minor, a little-endian header length (2 bytes in v1, 4 in v2/v3), then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and ending in '\n', then the raw data. Only what a tensor needs is accepted:
// little-endian float32/float64/int32/int64 in C order. Everything else is a thrown NPYError,
// never a trap, whatever the bytes.

/// A .npy file or buffer that cannot be read or written, with a message saying why.
public struct NPYError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely; `message` has the details.
    public enum Kind: String, Sendable, Hashable {
        /// The file could not be opened, read or written.
        case io
        /// Not a .npy file, or its header is not a well-formed dict.
        case malformedHeader
        /// An element type this reader does not convert (or the wrong kind for the tensor asked).
        case unsupportedDType
        /// Fortran (column-major) order.
        case fortranOrder
        /// The data is shorter or longer than the shape says.
        case sizeMismatch
        /// A shape whose byte size overflows or that this platform cannot hold.
        case tooLarge
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Reads and writes NumPy .npy files as `Tensor` (float32) and `IndexTensor` (int64).
///
/// Float tensors accept float32, and float64 or int32 data converted to float32; index
/// tensors accept int64, and int32 widened. Version 1, 2 and 3 headers are read; written
/// files use version 1 (version 2 only if the header would not fit).
public enum NPY {
    /// The element types a .npy file may hold for this reader.
    enum DType: String {
        case float32 = "<f4", float64 = "<f8", int32 = "<i4", int64 = "<i8"

        var byteCount: Int {
            switch self {
            case .float32, .int32: return 4
            case .float64, .int64: return 8
            }
        }
    }

    /// A parsed header: element type, shape and where the data starts.
    struct Header {
        var dtype: DType
        var shape: [Int]
        var dataOffset: Int
        var count: Int
    }

    // MARK: Public API

    /// Reads a float tensor from a .npy file. The tensor gets `layout`; its shape is the file's.
    public static func readTensor(path: String, layout: DataFormat = .channelsLast) throws -> Tensor {
        try decodeTensor(readFile(path), layout: layout, name: path)
    }

    /// Reads an Int64 index tensor (e.g. argmax) from a .npy file.
    public static func readIndexTensor(path: String, layout: DataFormat = .channelsLast) throws -> IndexTensor {
        try decodeIndexTensor(readFile(path), layout: layout, name: path)
    }

    /// Writes `tensor` as a float32 .npy file, replacing any file at `path`.
    public static func write(_ tensor: Tensor, path: String) throws {
        try writeFile(try encode(tensor), path: path)
    }

    /// Writes `tensor` as an int64 .npy file, replacing any file at `path`.
    public static func write(_ tensor: IndexTensor, path: String) throws {
        try writeFile(try encode(tensor), path: path)
    }

    /// Decodes the bytes of a .npy file into a float tensor. `name` is used in messages.
    public static func decodeTensor(_ bytes: [UInt8], layout: DataFormat = .channelsLast,
                                    name: String = "npy") throws -> Tensor {
        let header = try parseHeader(bytes, name: name)
        var values = [Float]()
        switch header.dtype {
        case .float32:
            values = try decodeElements(bytes, header) { Float(bitPattern: UInt32(truncatingIfNeeded: $0)) }
        case .float64:
            values = try decodeElements(bytes, header) { Float(Double(bitPattern: $0)) }
        case .int32:
            values = try decodeElements(bytes, header) { Float(Int32(bitPattern: UInt32(truncatingIfNeeded: $0))) }
        case .int64:
            throw NPYError(.unsupportedDType,
                           "\(name): int64 data where a float tensor is expected (int64 is for argmax indices); "
                               + "save it as float32")
        }
        do {
            return try Tensor(shape: header.shape, scalars: values, layout: layout)
        } catch let error as DeconvError {
            throw NPYError(.tooLarge, "\(name): \(error.message)")
        }
    }

    /// Decodes the bytes of a .npy file into an index tensor (int64, or int32 widened).
    public static func decodeIndexTensor(_ bytes: [UInt8], layout: DataFormat = .channelsLast,
                                         name: String = "npy") throws -> IndexTensor {
        let header = try parseHeader(bytes, name: name)
        var values = [Int64]()
        switch header.dtype {
        case .int64:
            values = try decodeElements(bytes, header) { Int64(bitPattern: $0) }
        case .int32:
            values = try decodeElements(bytes, header) { Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: $0))) }
        case .float32, .float64:
            throw NPYError(.unsupportedDType,
                           "\(name): \(header.dtype == .float32 ? "float32" : "float64") data where int64 indices are expected")
        }
        do {
            return try IndexTensor(shape: header.shape, indices: values, layout: layout)
        } catch let error as DeconvError {
            throw NPYError(.tooLarge, "\(name): \(error.message)")
        }
    }

    /// The bytes of a float32 .npy file holding `tensor`.
    public static func encode(_ tensor: Tensor) throws -> [UInt8] {
        try tensor.withUnsafeBufferPointer { values in
            try encode(shape: tensor.shape, dtype: .float32, count: values.count) { $0 = UInt64(values[$1].bitPattern) }
        }
    }

    /// The bytes of an int64 .npy file holding `tensor`.
    public static func encode(_ tensor: IndexTensor) throws -> [UInt8] {
        try tensor.withUnsafeBufferPointer { values in
            try encode(shape: tensor.shape, dtype: .int64, count: values.count) { $0 = UInt64(bitPattern: values[$1]) }
        }
    }

    // MARK: Header

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // "\x93NUMPY"
    /// Headers longer than this are refused: NumPy itself refuses more than 10000 bytes by default.
    static let maxHeaderLength = 1 << 20

    static func parseHeader(_ bytes: [UInt8], name: String) throws -> Header {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NPYError(.malformedHeader, "\(name): not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default:
            throw NPYError(.malformedHeader, "\(name): .npy format version \(major).\(bytes[7]) is not supported (1, 2 or 3)")
        }
        guard bytes.count >= 8 + lengthBytes else {
            throw NPYError(.malformedHeader, "\(name): file ends inside the .npy preamble")
        }
        var headerLength = 0
        for i in (0..<lengthBytes).reversed() { headerLength = headerLength << 8 | Int(bytes[8 + i]) }
        let start = 8 + lengthBytes
        guard headerLength <= maxHeaderLength else {
            throw NPYError(.malformedHeader, "\(name): header length \(headerLength) is absurd")
        }
        guard bytes.count - start >= headerLength else {
            throw NPYError(.malformedHeader,
                           "\(name): header says \(headerLength) bytes but the file has \(bytes.count - start) after the preamble")
        }
        // v1/v2 headers are latin-1, v3 UTF-8; the dict itself is pure ASCII either way.
        let text = bytes[start..<(start + headerLength)]
        guard text.allSatisfy({ $0 < 0x80 }) else {
            throw NPYError(.malformedHeader, "\(name): header holds non-ASCII bytes")
        }
        var parser = DictParser(text: Array(text), name: name)
        let dict = try parser.parseDict()

        guard case .string(let descr)? = dict["descr"] else {
            throw NPYError(.malformedHeader, "\(name): header has no 'descr' string")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw NPYError(.malformedHeader, "\(name): header has no 'fortran_order' True/False")
        }
        guard case .tuple(let dims)? = dict["shape"] else {
            throw NPYError(.malformedHeader, "\(name): header has no 'shape' tuple")
        }
        for key in dict.keys where !["descr", "fortran_order", "shape"].contains(key) {
            throw NPYError(.malformedHeader, "\(name): unexpected header key '\(key)'")
        }
        guard let dtype = DType(rawValue: descr) else {
            throw NPYError(.unsupportedDType, "\(name): dtype '\(descr)' is not supported; "
                               + (descr.first == ">" ? "big-endian data must be byte-swapped to little-endian first; " : "")
                               + "use little-endian float32 ('<f4'; '<f8' and '<i4' are converted) or int64 ('<i8') indices")
        }
        guard !fortran else {
            throw NPYError(.fortranOrder, "\(name): fortran_order is True; save a C-order array (np.ascontiguousarray)")
        }
        var count = 1
        for (axis, dim) in dims.enumerated() {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw NPYError(.tooLarge, "\(name): shape \(dims) has more elements than this platform can hold (dim \(axis))")
            }
            count = product
        }
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow else {
            throw NPYError(.tooLarge, "\(name): shape \(dims) is too large (byte size overflows)")
        }
        let available = bytes.count - start - headerLength
        guard available == dataBytes else {
            throw NPYError(.sizeMismatch,
                           "\(name): shape \(dims) of \(descr) needs \(dataBytes) data bytes but the file has \(available)"
                               + (available < dataBytes ? " (truncated)" : ""))
        }
        return Header(dtype: dtype, shape: dims, dataOffset: start + headerLength, count: count)
    }

    /// Reads `header.count` little-endian elements and converts each with `convert`, which
    /// receives the raw bits zero-extended to 64.
    static func decodeElements<T>(_ bytes: [UInt8], _ header: Header, _ convert: (UInt64) -> T) throws -> [T] {
        var result = [T]()
        result.reserveCapacity(header.count)
        bytes.withUnsafeBytes { raw in
            var offset = header.dataOffset
            if header.dtype.byteCount == 4 {
                for _ in 0..<header.count {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                    result.append(convert(UInt64(bits)))
                    offset += 4
                }
            } else {
                for _ in 0..<header.count {
                    result.append(convert(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
                    offset += 8
                }
            }
        }
        return result
    }

    static func encode(shape: [Int], dtype: DType, count: Int,
                       element: (inout UInt64, Int) -> Void) throws -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = Array("{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }".utf8)
        // Pad so that the data starts at a multiple of 64 bytes, the header ending in '\n'.
        var version: UInt8 = 1
        var preamble = 10
        if (preamble + dict.count + 1 + 63) / 64 * 64 - preamble > 0xFFFF {
            version = 2
            preamble = 12
        }
        let total = (preamble + dict.count + 1 + 63) / 64 * 64
        dict += [UInt8](repeating: 0x20, count: total - preamble - dict.count - 1) + [0x0A]
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow else { throw NPYError(.tooLarge, "tensor of \(count) elements is too large to encode") }
        var out = [UInt8]()
        out.reserveCapacity(total + dataBytes)
        out += magic
        out += [version, 0]
        let length = dict.count
        for i in 0..<(version == 1 ? 2 : 4) { out.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
        out += dict
        var bits: UInt64 = 0
        for i in 0..<count {
            element(&bits, i)
            for b in 0..<dtype.byteCount { out.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(b)))) }
        }
        return out
    }

    // MARK: Files

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw NPYError(.io, "\(path): cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if got > 0 { bytes += chunk[0..<got] }
            if got < chunk.count {
                if ferror(file) != 0 {
                    throw NPYError(.io, "\(path): cannot read: \(String(cString: strerror(errno)))")
                }
                break
            }
        }
        return bytes
    }

    static func writeFile(_ bytes: [UInt8], path: String) throws {
        guard let file = fopen(path, "wb") else {
            throw NPYError(.io, "\(path): cannot create: \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let failed = written != bytes.count || fflush(file) != 0
        let closeFailed = fclose(file) != 0
        if failed || closeFailed {
            throw NPYError(.io, "\(path): cannot write: \(String(cString: strerror(errno)))")
        }
    }
}

/// The subset of Python literal syntax a .npy header uses: a dict of string keys to strings,
/// True/False and tuples of non-negative ints (Python 2 files may write `3L`).
private struct DictParser {
    enum Value { case string(String), bool(Bool), tuple([Int]) }

    let text: [UInt8]
    let name: String
    var pos = 0

    init(text: [UInt8], name: String) {
        self.text = text
        self.name = name
    }

    func fail(_ what: String) -> NPYError {
        NPYError(.malformedHeader, "\(name): malformed header at byte \(pos): \(what)")
    }

    mutating func skipSpace() {
        while pos < text.count, [0x20, 0x0A, 0x0D, 0x09].contains(text[pos]) { pos += 1 }
    }

    mutating func expect(_ c: Character) throws {
        skipSpace()
        guard pos < text.count, text[pos] == c.asciiValue! else { throw fail("expected '\(c)'") }
        pos += 1
    }

    /// True (and consumes it) if the next non-space byte is `c`.
    mutating func accept(_ c: Character) -> Bool {
        skipSpace()
        guard pos < text.count, text[pos] == c.asciiValue! else { return false }
        pos += 1
        return true
    }

    mutating func parseDict() throws -> [String: Value] {
        try expect("{")
        var dict = [String: Value]()
        while !accept("}") {
            let key = try parseString()
            guard dict[key] == nil else { throw fail("duplicate key '\(key)'") }
            try expect(":")
            dict[key] = try parseValue()
            if !accept(",") {
                try expect("}")
                break
            }
        }
        skipSpace()
        guard pos == text.count else { throw fail("text after the dict") }
        return dict
    }

    mutating func parseString() throws -> String {
        skipSpace()
        guard pos < text.count, text[pos] == 0x27 || text[pos] == 0x22 else { throw fail("expected a quoted string") }
        let quote = text[pos]
        pos += 1
        let start = pos
        while pos < text.count, text[pos] != quote {
            guard text[pos] != 0x5C else { throw fail("escapes are not supported") }
            pos += 1
        }
        guard pos < text.count else { throw fail("unterminated string") }
        let value = String(decoding: text[start..<pos], as: UTF8.self)
        pos += 1
        return value
    }

    mutating func parseValue() throws -> Value {
        skipSpace()
        guard pos < text.count else { throw fail("expected a value") }
        switch text[pos] {
        case 0x27, 0x22: return .string(try parseString())
        case 0x28: return .tuple(try parseTuple())
        default:
            if matchWord("True") { return .bool(true) }
            if matchWord("False") { return .bool(false) }
            throw fail("expected a string, True, False or a tuple")
        }
    }

    mutating func matchWord(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard pos + w.count <= text.count, Array(text[pos..<(pos + w.count)]) == w else { return false }
        pos += w.count
        return true
    }

    mutating func parseTuple() throws -> [Int] {
        try expect("(")
        var dims = [Int]()
        while !accept(")") {
            dims.append(try parseInt())
            if !accept(",") {
                guard dims.count > 1 else { throw fail("a one-element tuple needs a trailing comma") }
                try expect(")")
                break
            }
        }
        return dims
    }

    mutating func parseInt() throws -> Int {
        skipSpace()
        let start = pos
        while pos < text.count, (0x30...0x39).contains(text[pos]) { pos += 1 }
        guard pos > start else { throw fail("expected a non-negative integer dim") }
        let digits = String(decoding: text[start..<pos], as: UTF8.self)
        if pos < text.count, text[pos] == 0x4C { pos += 1 } // Python 2 long suffix
        guard let value = Int(digits) else {
            throw NPYError(.tooLarge, "\(name): shape dim \(digits) is too large")
        }
        return value
    }
}
