internal import CDeconv

/// Chooses how many threads the ops run on. Pass one as the `context:` argument of any op or
/// layer call; without one (`nil`) an op runs on the calling thread only.
///
/// Results are bit-identical for every thread count. A context may be shared between tasks and
/// threads: libdeconv serialises the calls made through one context, so for parallel
/// independent work give each task its own context.
public final class ExecutionContext: @unchecked Sendable {
    // @unchecked: the handle is immutable after init and libdeconv documents a context as safe
    // to share between threads (calls through one context are serialised by its lock).
    let handle: OpaquePointer

    /// A context running ops on `threadCount` threads (the caller's included); 0 means one per
    /// online CPU. Valid range 0...1024 (`.invalidArgument` otherwise); `.system` if the
    /// operating system refuses the threads.
    public init(threadCount: Int = 0) throws {
        guard let count = Int32(exactly: threadCount) else {
            throw DeconvError(.invalidArgument, "threadCount = \(threadCount) is outside 0...1024")
        }
        var created: OpaquePointer?
        try check { deconv_context_create(count, &created, $0) }
        guard let created else {
            throw DeconvError(.system, "deconv_context_create returned no context")
        }
        handle = created
    }

    deinit { deconv_context_destroy(handle) }

    /// The number of threads ops run on with this context.
    public var threadCount: Int { Int(deconv_context_num_threads(handle)) }
}

extension Optional where Wrapped == ExecutionContext {
    /// The C handle, NULL for "calling thread only".
    var cHandle: OpaquePointer? { self?.handle }
}

/// The libdeconv version the package was built with, e.g. "1.1.0".
public var deconvVersion: String { String(cString: deconv_version_string()) }
