import Deconv

/// The `deconv` command. Runs `arguments` (without the program name) and returns the exit
/// status: 0 success, 1 the work failed (bad file, shapes the library rejects), 2 a bad command
/// line. Every error is one line on `console.err`; nothing traps.
public func runDeconv(_ arguments: [String], console: Console = .standard) -> Int32 {
    do {
        try dispatch(arguments, console: console)
        return 0
    } catch let error as UsageError {
        console.err(oneLine(error.message))
        return 2
    } catch let error as RunFailure {
        console.err(oneLine(error.message))
        return 1
    } catch let error as DeconvError {
        console.err(oneLine("deconv: \(error)"))
        return 1
    } catch let error as NPYError {
        console.err(oneLine("deconv: \(error.message)"))
        return 1
    } catch {
        console.err(oneLine("deconv: \(error)"))
        return 1
    }
}

/// Messages stay on one line whatever a file name or library message holds.
func oneLine(_ text: String) -> String {
    String(text.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
}

let topHelp = """
usage: deconv <command> [options]

TensorFlow-exact conv, transposed conv, pooling and unpooling (libdeconv \(deconvVersion)).

commands:
  demo     a guided tour on built-in data (start here)
  shape    explain output shapes and pads: deconv shape conv2d_transpose --input 1,3,3,1 \\
           --filters 3,3,1,1 --strides 2 --padding SAME
  run      run one op on .npy tensors: deconv run conv2d --input x.npy --filters w.npy --padding SAME
  bench    time the benchmark layers through the Swift API

`deconv <command> --help` describes a command; `deconv --version` prints the library version.
"""

func dispatch(_ arguments: [String], console: Console) throws {
    guard let command = arguments.first else {
        console.out(topHelp)
        return
    }
    let rest = Array(arguments.dropFirst())
    switch command {
    case "--help", "-h", "help":
        console.out(topHelp)
    case "--version", "version":
        console.out(deconvVersion)
    case "demo":
        try DemoCommand.main(rest, console: console)
    case "shape":
        try ShapeCommand.main(rest, console: console)
    case "run":
        try RunCommand.main(rest, console: console)
    case "bench":
        try BenchCommand.main(rest, console: console)
    default:
        throw UsageError("deconv: unknown command '\(command)'; one of demo, shape, run, bench (see deconv --help)")
    }
}
