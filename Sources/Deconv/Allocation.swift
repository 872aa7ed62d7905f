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

/// Bytes of physical memory, or nil where the platform does not say.
private let physicalMemory: Int? = {
    #if os(Linux) || os(Android) || canImport(Darwin)
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, pageSize > 0 else { return nil }
    let (bytes, overflow) = Int(pages).multipliedReportingOverflow(by: Int(pageSize))
    return overflow ? nil : bytes
    #else
    return nil
    #endif
}()

/// An array of `count` copies of `value`, or `DeconvError.Code.noMemory` when the memory cannot
/// be had. Swift arrays trap when an allocation fails, so sizes above the machine's physical
/// memory are refused outright (with overcommit, malloc may "succeed" and filling the memory
/// would then bring in the OOM killer), and other large sizes are first tried with malloc,
/// which reports failure instead of trapping; no argument may crash the process.
func makeArray<T>(repeating value: T, count: Int) throws -> [T] {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
    guard !overflow, bytes >= 0 else {
        throw DeconvError(.overflow, "\(count) elements of \(MemoryLayout<T>.stride) bytes overflow")
    }
    if let physicalMemory, bytes > physicalMemory {
        throw DeconvError(.noMemory, "\(count) elements need \(bytes) bytes, more than this machine's \(physicalMemory)")
    }
    if bytes > 1 << 20 {
        guard let probe = malloc(bytes) else {
            throw DeconvError(.noMemory, "cannot allocate \(bytes) bytes for \(count) elements")
        }
        free(probe)
    }
    return [T](repeating: value, count: count)
}
