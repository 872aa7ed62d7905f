import Foundation

// Reader of the golden vector files shared with the C tests (Tests/golden/FORMAT.md).

/// One parsed golden case.
struct GoldenCase {
    var name: String
    var file: String
    var line: Int
    /// Key -> its values, for every `key values...` line except tensors.
    var fields: [String: [String]] = [:]
    var tensors: [String: (shape: [Int], values: [Float])] = [:]
    var itensors: [String: (shape: [Int], values: [Int64])] = [:]
    /// `shape <name> <rank> <dims...>` lines (output_shape of error cases).
    var shapes: [String: [Int]] = [:]

    func field(_ key: String) -> [String]? { fields[key] }
    func string(_ key: String) throws -> String {
        guard let v = fields[key]?.first else { throw GoldenFormatError("case \(name): missing '\(key)'") }
        return v
    }
    func ints(_ key: String) throws -> [Int]? {
        guard let v = fields[key] else { return nil }
        return try v.map { s in
            guard let i = Int(s) else { throw GoldenFormatError("case \(name): '\(key)' value '\(s)' is not an int") }
            return i
        }
    }
    func floats(_ key: String) throws -> [Float]? {
        guard let v = fields[key] else { return nil }
        return try v.map { s in
            guard let f = Float(s) else { throw GoldenFormatError("case \(name): '\(key)' value '\(s)' is not a float") }
            return f
        }
    }
}

struct GoldenFormatError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Golden {
    /// Tests/golden, found from this file's path (Tests/DeconvTests/GoldenFile.swift), so it
    /// works from any working directory and a fresh clone.
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("golden")
    }

    /// Every Tests/golden/*.golden file, sorted.
    static func files() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "golden" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Parses one file; any malformed line is an error (never silently skipped).
    static func parse(_ url: URL) throws -> [GoldenCase] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let file = url.lastPathComponent
        var cases: [GoldenCase] = []
        var current: GoldenCase?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let where_ = "\(file):\(number + 1)"
            let words = line.split(separator: " ").map(String.init)
            let key = words[0]
            if key == "case" {
                guard current == nil, words.count == 2 else { throw GoldenFormatError("\(where_): bad 'case' line") }
                current = GoldenCase(name: words[1], file: file, line: number + 1)
                continue
            }
            guard var c = current else { throw GoldenFormatError("\(where_): '\(key)' outside a case") }
            switch key {
            case "end":
                cases.append(c)
                current = nil
                continue
            case "tensor", "itensor":
                guard let colon = words.firstIndex(of: ":"), colon >= 3, let rank = Int(words[2]),
                      colon == 3 + rank else {
                    throw GoldenFormatError("\(where_): malformed \(key) line")
                }
                let dims = try words[3..<colon].map { s -> Int in
                    guard let d = Int(s) else { throw GoldenFormatError("\(where_): bad dim '\(s)'") }
                    return d
                }
                let valueWords = words[(colon + 1)...]
                if key == "tensor" {
                    let values = try valueWords.map { s -> Float in
                        guard let f = Float(s) else { throw GoldenFormatError("\(where_): bad float '\(s)'") }
                        return f
                    }
                    c.tensors[words[1]] = (dims, values)
                } else {
                    let values = try valueWords.map { s -> Int64 in
                        guard let i = Int64(s) else { throw GoldenFormatError("\(where_): bad index '\(s)'") }
                        return i
                    }
                    c.itensors[words[1]] = (dims, values)
                }
            case "shape":
                guard words.count >= 3, let rank = Int(words[2]), words.count == 3 + rank else {
                    throw GoldenFormatError("\(where_): malformed shape line")
                }
                c.shapes[words[1]] = try words[3...].map { s -> Int in
                    guard let d = Int(s) else { throw GoldenFormatError("\(where_): bad dim '\(s)'") }
                    return d
                }
            default:
                guard c.fields[key] == nil else { throw GoldenFormatError("\(where_): duplicate '\(key)'") }
                c.fields[key] = Array(words.dropFirst())
            }
            current = c
        }
        if let current { throw GoldenFormatError("\(file): case \(current.name) has no 'end'") }
        return cases
    }
}
