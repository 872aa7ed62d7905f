#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#elseif canImport(ucrt)
import ucrt
#endif

/// Number of elements of `shape`: its dims must be >= 0 and their product must fit an Int.
func elementCount(of shape: [Int], name: String) throws -> Int {
    var count = 1
    for (axis, dim) in shape.enumerated() {
        guard dim >= 0 else {
            throw DeconvError(.invalidShape, "\(name)[\(axis)] = \(dim) is negative")
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow else {
            throw DeconvError(.overflow, "\(name) \(shape) has more elements than an Int holds")
        }
        count = product
    }
    return count
}

/// An array of `count` copies of `value`, or `DeconvError.Code.noMemory` when the memory cannot
/// be had. Swift arrays trap when an allocation fails, so the size is first tried with malloc,
/// which reports failure instead; no argument may crash the process.
func makeArray<T>(repeating value: T, count: Int) throws -> [T] {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
    guard !overflow, bytes >= 0 else {
        throw DeconvError(.overflow, "\(count) elements of \(MemoryLayout<T>.stride) bytes overflow")
    }
    if bytes > 1 << 20 {
        guard let probe = malloc(bytes) else {
            throw DeconvError(.noMemory, "cannot allocate \(bytes) bytes for \(count) elements")
        }
        free(probe)
    }
    return [T](repeating: value, count: count)
}
