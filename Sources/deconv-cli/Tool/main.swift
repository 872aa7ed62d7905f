// The `deconv` executable: everything lives in DeconvCLI so the tests can run it in-process.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import DeconvCLI

exit(runDeconv(Array(CommandLine.arguments.dropFirst())))
