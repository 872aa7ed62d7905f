import Deconv

/// A mistake in the command line itself (unknown option, missing value, a word that is not a
/// number): exit status 2, as most Unix tools use for usage errors.
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The command line was fine but the work failed (a bad file, shapes the library rejects):
/// exit status 1.
struct RunFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// One option a subcommand accepts.
struct OptionSpec {
    enum Kind { case value, flag }
    let name: String
    let kind: Kind
    let help: String

    static func value(_ name: String, _ help: String) -> OptionSpec { OptionSpec(name: name, kind: .value, help: help) }
    static func flag(_ name: String, _ help: String) -> OptionSpec { OptionSpec(name: name, kind: .flag, help: help) }
}

/// The parsed command line of one subcommand: positional words and `--name value` options.
/// Accepts `--name value` and `--name=value`; flags take no value (or `=true` / `=false`).
/// Every option may be given at most once; unknown ones are usage errors.
struct ParsedArguments {
    var positional: [String] = []
    private var values: [String: String] = [:]
    private var flags: [String: Bool] = [:]
    private(set) var help = false
    let command: String

    init(_ arguments: [String], specs: [OptionSpec], command: String) throws {
        self.command = command
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            i += 1
            if word == "--help" || word == "-h" {
                help = true
                continue
            }
            guard word.hasPrefix("--"), word.count > 2 else {
                if word.hasPrefix("-"), word.count > 1, Int(word) == nil {
                    throw UsageError("\(command): unknown option '\(word)' (see \(command) --help)")
                }
                positional.append(word)
                continue
            }
            var name = String(word.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw UsageError("\(command): unknown option '--\(name)' (see \(command) --help)")
            }
            guard values[name] == nil, flags[name] == nil else {
                throw UsageError("\(command): --\(name) is given more than once")
            }
            switch spec.kind {
            case .flag:
                switch inline {
                case nil, "true", "True", "1": flags[name] = true
                case "false", "False", "0": flags[name] = false
                default: throw UsageError("\(command): --\(name) takes no value, or =true / =false")
                }
            case .value:
                if let inline {
                    values[name] = inline
                } else {
                    guard i < arguments.count else {
                        throw UsageError("\(command): --\(name) needs a value")
                    }
                    values[name] = arguments[i]
                    i += 1
                }
            }
        }
    }

    func value(_ name: String) -> String? { values[name] }

    func flag(_ name: String) -> Bool { flags[name] ?? false }

    func required(_ name: String, _ what: String) throws -> String {
        guard let value = values[name] else {
            throw UsageError("\(command): --\(name) is required (\(what))")
        }
        return value
    }

    /// A comma-separated list of integers, e.g. `1,3,3,1` or `2`.
    func intList(_ name: String) throws -> [Int]? {
        guard let text = values[name] else { return nil }
        return try parseIntList(text, option: "--\(name)", command: command)
    }

    /// A single non-negative integer.
    func int(_ name: String) throws -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text.trimmingSpaces), value >= 0 else {
            throw UsageError("\(command): --\(name) must be a non-negative integer, got '\(text)'")
        }
        return value
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

func parseIntList(_ text: String, option: String, command: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    var result: [Int] = []
    for part in parts {
        guard let value = Int(String(part).trimmingSpaces) else {
            throw UsageError("\(command): \(option) takes comma-separated integers, got '\(text)'")
        }
        result.append(value)
    }
    return result
}

/// TF's data_format names, checked against the number of spatial dims.
func parseDataFormat(_ text: String?, spatialRank: Int, command: String) throws -> DataFormat {
    let last = ["NWC", "NHWC", "NDHWC"], first = ["NCW", "NCHW", "NCDHW"]
    guard let text else { return .channelsLast }
    guard let format = DataFormat(text) else {
        throw UsageError("\(command): --data-format '\(text)' is not one of NWC NCW NHWC NCHW NDHWC NCDHW")
    }
    let expected = format == .channelsLast ? last[spatialRank - 1] : first[spatialRank - 1]
    guard text == expected else {
        throw UsageError("\(command): --data-format \(text) does not fit \(spatialRank) spatial dim\(spatialRank == 1 ? "" : "s"); use \(last[spatialRank - 1]) or \(first[spatialRank - 1])")
    }
    return format
}

/// SAME, VALID, or TF's explicit pads flattened in data-format order: one (before, after)
/// pair per dim of the input (batch and channel pairs 0,0), or one pair per spatial dim.
func parsePadding(_ text: String?, default fallback: Padding?, command: String) throws -> Padding {
    guard let text else {
        guard let fallback else { throw UsageError("\(command): --padding is required (SAME, VALID or explicit pads)") }
        return fallback
    }
    switch text.uppercased() {
    case "SAME": return .same
    case "VALID": return .valid
    default: break
    }
    let numbers: [Int]
    do {
        numbers = try parseIntList(text, option: "--padding", command: command)
    } catch {
        throw UsageError("\(command): --padding must be SAME, VALID or comma-separated explicit pads, got '\(text)'")
    }
    guard numbers.count % 2 == 0 else {
        throw UsageError("\(command): --padding has \(numbers.count) numbers; explicit pads come in before,after pairs")
    }
    return .explicit(stride(from: 0, to: numbers.count, by: 2).map { (before: numbers[$0], after: numbers[$0 + 1]) })
}

/// none, relu, relu6, sigmoid, tanh, leaky_relu (slope 0.2) or leaky_relu=ALPHA, clamp=MIN,MAX.
func parseActivation(_ text: String?, command: String) throws -> Activation {
    guard let text else { return .none }
    let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
    let name = parts.first ?? ""
    let argument = parts.count > 1 ? parts[1] : nil
    func number(_ s: String) throws -> Float {
        guard let v = Float(s.trimmingSpaces) else {
            throw UsageError("\(command): --activation \(text): '\(s)' is not a number")
        }
        return v
    }
    switch (name, argument) {
    case ("none", nil): return .none
    case ("relu", nil): return .relu
    case ("relu6", nil): return .relu6
    case ("sigmoid", nil): return .sigmoid
    case ("tanh", nil): return .tanh
    case ("leaky_relu", nil): return .leakyReLU()
    case ("leaky_relu", let alpha?): return .leakyReLU(alpha: try number(alpha))
    case ("clamp", let bounds?):
        let b = bounds.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard b.count == 2 else { throw UsageError("\(command): --activation clamp=MIN,MAX needs two numbers") }
        return .clamp(min: try number(b[0]), max: try number(b[1]))
    default:
        throw UsageError("\(command): --activation '\(text)' is not one of none, relu, relu6, sigmoid, tanh, "
                             + "leaky_relu[=ALPHA], clamp=MIN,MAX")
    }
}

/// Renders a shape as TF prints it: `[1, 6, 6, 1]`.
func shapeText(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
