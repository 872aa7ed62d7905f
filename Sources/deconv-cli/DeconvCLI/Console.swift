#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the command writes: stdout for results, stderr for progress and errors. Tests pass
/// closures that collect the text; the executable writes to the process streams.
public struct Console: Sendable {
    public var out: @Sendable (String) -> Void
    public var err: @Sendable (String) -> Void

    public init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        self.out = out
        self.err = err
    }

    /// The process's stdout and stderr. Each call writes whole lines straight to the file
    /// descriptor (no buffering), so progress on stderr interleaves sensibly with stdout.
    public static let standard = Console(out: { writeAll(1, $0 + "\n") }, err: { writeAll(2, $0 + "\n") })
}

/// Writes every byte of `text` to `fd`, retrying short writes; gives up silently on an error
/// (a closed pipe must not turn into a crash or an endless loop).
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n > 0 {
            offset += n
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            return
        }
    }
}

/// Monotonic time in seconds, for the demo's and the benchmark's timings.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// A note for timings taken in a debug build, where SwiftPM compiles the C kernels unoptimised.
var debugBuildNote: String? {
    #if DEBUG
    return "debug build: the C kernels are compiled without optimisation; for real timings use swift run -c release deconv ..."
    #else
    return nil
    #endif
}
