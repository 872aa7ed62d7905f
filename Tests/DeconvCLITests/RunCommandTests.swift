import Foundation
import Testing
@testable import DeconvCLI
import Deconv

/// Files every run test can use: the worked example's input and kernel.
struct RunFixture {
    let dir: TempDir
    let x: String, w: String

    init() throws {
        dir = try TempDir()
        x = try dir.write("x.npy", try Tensor(shape: [1, 3, 3, 1], range: 1...9))
        w = try dir.write("w.npy", try Tensor(shape: [3, 3, 1, 1], scalars: (0..<9).map { $0 % 4 == 0 ? 1 : 0 }))
    }
}

@Suite struct RunCommandTests {
    @Test func workedExampleEndToEndThroughNpyFiles() throws {
        let f = try RunFixture()
        defer { f.dir.cleanup() }
        let out = f.dir.file("y.npy")
        let r = deconv("run", "conv2d_transpose", "--input", f.x, "--filters", f.w, "--output-shape", "1,6,6,1",
                       "--strides", "2", "--padding", "SAME", "--out", out)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == "wrote \(out): float32 [1, 6, 6, 1]\n")
        let y = try NPY.readTensor(path: out)
        #expect(y.shape == [1, 6, 6, 1])
        #expect(y.scalars == [1, 0, 2, 0, 3, 0,
                              0, 1, 0, 2, 0, 3,
                              4, 0, 6, 0, 8, 0,
                              0, 4, 0, 5, 0, 6,
                              7, 0, 12, 0, 14, 0,
                              0, 7, 0, 8, 0, 9])
        // Without --out the result is printed; padding defaults to SAME as in TF.
        let printed = deconv("run", "conv2d_transpose", "--input", f.x, "--filters", f.w, "--output-shape", "1,5,5,1",
                             "--strides", "2")
        #expect(printed.status == 0)
        #expect(printed.out.contains("Tensor [1, 5, 5, 1] channelsLast"))
        #expect(printed.out.contains(" 0 12  0 14  0\n"))
    }

    @Test func inputsInOtherDtypesAreConverted() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let values: [Double] = [1.5, -2, 3, 4, 5, -6]
        let f8 = values.flatMap { v in (0..<8).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
        let i4 = values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: Int32(v.rounded(.down))) >> (8 * $0)) } }
        let k = try dir.write("k.npy", try Tensor(shape: [1, 1, 1], scalars: [2]))
        for (descr, data, expected) in [("<f8", f8, values), ("<i4", i4, values.map { $0.rounded(.down) })] {
            let x = try dir.write("x.npy", bytes: npyBytes(
                header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (1, 6, 1), }", data: data))
            let r = deconv("run", "conv1d", "--input", x, "--filters", k, "--padding", "VALID", "--out", dir.file("o.npy"))
            #expect(r.status == 0, "\(r.err)")
            #expect(try NPY.readTensor(path: dir.file("o.npy")).scalars == expected.map { Float($0 * 2) }, "\(descr)")
        }
    }

    @Test func poolArgmaxUnpoolChainThroughFiles() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        // [10, 2, 7, 7, 3] -> [10, 1, 4, 4, 3] -> [10, 2, 7, 7, 3], SAME with window and stride 2.
        let x = try Tensor(randomUniform: [10, 2, 7, 7, 3], seed: 5)
        let xp = try dir.write("x.npy", x)
        let r = deconv("run", "max_pool_with_argmax", "--input", xp, "--ksize", "2", "--strides", "2", "--padding", "SAME",
                       "--out", dir.file("p.npy"), "--argmax-out", dir.file("a.npy"))
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("float32 [10, 1, 4, 4, 3]") && r.out.contains("int64 [10, 1, 4, 4, 3]"))
        let expected = try maxPoolWithArgmax(x, ksize: 2, strides: 2, padding: .same)
        #expect(try NPY.readTensor(path: dir.file("p.npy")) == expected.output)
        #expect(try NPY.readIndexTensor(path: dir.file("a.npy")) == expected.argmax)
        let u = deconv("run", "max_unpool", "--input", dir.file("p.npy"), "--argmax", dir.file("a.npy"),
                       "--output-shape", "10,2,7,7,3", "--ksize", "2", "--strides", "2", "--padding", "SAME",
                       "--out", dir.file("u.npy"))
        #expect(u.status == 0, "\(u.err)")
        let unpooled = try NPY.readTensor(path: dir.file("u.npy"))
        #expect(unpooled.shape == [10, 2, 7, 7, 3])
        // Every pooled value sits at its index in the channels-last input, and nothing else.
        var expectedUnpooled = [Float](repeating: 0, count: unpooled.scalarCount)
        let perImage = 2 * 7 * 7 * 3
        for (i, index) in expected.argmax.indices.enumerated() {
            expectedUnpooled[(i / 48) * perImage + Int(index)] += expected.output.scalars[i]
        }
        #expect(unpooled.scalars == expectedUnpooled)
        // With the batch term in the indices.
        let b = deconv("run", "max_pool_with_argmax", "--input", xp, "--ksize", "2", "--strides", "2", "--padding", "SAME",
                       "--include-batch-in-index", "--argmax-out", dir.file("ab.npy"), "--out", dir.file("pb.npy"))
        #expect(b.status == 0)
        let ab = try NPY.readIndexTensor(path: dir.file("ab.npy"))
        #expect(ab.indices.enumerated().allSatisfy { $1 == expected.argmax.indices[$0] + Int64(($0 / 48) * perImage) })
        // max_pool_with_argmax without files prints both.
        let printed = deconv("run", "max_pool_with_argmax", "--input", xp, "--ksize", "7", "--strides", "7",
                             "--padding", "VALID", "--data-format", "NDHWC")
        #expect(printed.status == 0, "\(printed.err)")
        #expect(printed.out.contains("Tensor [10, 0, 1, 1, 3]") && printed.out.contains("argmax IndexTensor [10, 0, 1, 1, 3]"))
    }

    @Test func explicitPaddingFormsLayoutsAndThreadsAgree() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let x = try dir.write("x.npy", try Tensor(randomUniform: [2, 6, 5, 4], seed: 1))
        let w = try dir.write("w.npy", try Tensor(randomUniform: [3, 3, 4, 5], seed: 2))
        func run(_ extra: [String], _ name: String) throws -> Tensor {
            let r = deconv(["run", "conv2d", "--input", x, "--filters", w, "--out", dir.file(name)] + extra)
            #expect(r.status == 0, "\(r.err)")
            return try NPY.readTensor(path: dir.file(name))
        }
        let full = try run(["--padding", "0,0,1,2,2,0,0,0", "--strides", "1,2,1,1"], "a.npy")
        let spatial = try run(["--padding", "1,2,2,0", "--strides", "2,1"], "b.npy")
        let threaded = try run(["--padding", "1,2,2,0", "--strides", "2,1", "--threads", "2"], "c.npy")
        #expect(full.shape == [2, 4, 5, 5])
        #expect(full == spatial)
        #expect(threaded.scalars.map(\.bitPattern) == spatial.scalars.map(\.bitPattern))
        let direct = try conv2d(try NPY.readTensor(path: x), filters: try NPY.readTensor(path: w), strides: [2, 1],
                                padding: .explicit([(1, 2), (2, 0)]))
        #expect(direct == spatial)
        // NCHW: the same numbers with the data transposed; explicit pads in NCHW order.
        let nchw = try dir.write("xc.npy", try Tensor(randomUniform: [2, 4, 6, 5], seed: 3))
        let r = deconv("run", "conv2d", "--input", nchw, "--filters", w, "--padding", "0,0,0,0,1,2,2,0",
                       "--strides", "1,1,2,1", "--data-format", "NCHW", "--bias", try dir.write("b.npy", Tensor([1, 2, 3, 4, 5])),
                       "--activation", "leaky_relu=0.1", "--out", dir.file("d.npy"))
        #expect(r.status == 0, "\(r.err)")
        let expected = try conv2d(try NPY.readTensor(path: nchw, layout: .channelsFirst), filters: try NPY.readTensor(path: w),
                                  strides: [2, 1], padding: .explicit([(1, 2), (2, 0)]), dataFormat: .channelsFirst,
                                  bias: Tensor([1, 2, 3, 4, 5]), activation: .leakyReLU(alpha: 0.1))
        #expect(try NPY.readTensor(path: dir.file("d.npy")).scalars == expected.scalars)
    }

    @Test func badArguments() throws {
        let f = try RunFixture()
        defer { f.dir.cleanup() }
        let convT = ["run", "conv2d_transpose", "--input", f.x, "--filters", f.w, "--strides", "2"]
        let cases: [([String], Int32, String)] = [
            (convT, 2, "--output-shape is required"),
            (["run", "conv2d", "--filters", f.w, "--padding", "SAME"], 2, "--input is required"),
            (["run", "conv2d", "--input", f.x, "--padding", "SAME"], 2, "--filters is required"),
            (["run", "conv2d", "--input", f.x, "--filters", f.w], 2, "--padding is required"),
            (["run", "max_pool2d", "--input", f.x, "--strides", "1", "--padding", "SAME"], 2, "--ksize is required"),
            (["run", "max_pool2d", "--input", f.x, "--ksize", "1", "--padding", "SAME"], 2, "--strides is required"),
            (["run", "max_unpool", "--input", f.x, "--ksize", "1", "--strides", "1", "--padding", "SAME",
              "--output-shape", "1,3,3,1"], 2, "--argmax is required"),
            (convT + ["--output-shape", "1,6,6,x"], 2, "--output-shape takes comma-separated integers"),
            (convT + ["--output-shape", "1,6,,1"], 2, "--output-shape takes comma-separated integers"),
            (convT + ["--output-shape", "1,6,6,1", "--padding", "HALF"], 2, "--padding must be SAME, VALID"),
            (convT + ["--output-shape", "1,6,6,1", "--data-format", "NCW"], 2, "does not fit 2 spatial dims"),
            (convT + ["--output-shape", "1,6,6,1", "--data-format", "nhwc"], 2, "is not one of NWC NCW"),
            (convT + ["--output-shape", "1,6,6,1", "--activation", "swish"], 2, "--activation 'swish' is not one of"),
            (convT + ["--output-shape", "1,6,6,1", "--activation", "clamp=1"], 2, "clamp=MIN,MAX needs two numbers"),
            (convT + ["--output-shape", "1,6,6,1", "--activation", "leaky_relu=a"], 2, "'a' is not a number"),
            (convT + ["--output-shape", "1,6,6,1", "--threads", "many"], 2, "--threads must be a non-negative integer"),
            (convT + ["--output-shape", "1,6,6,1", "--threads", "5000"], 2, "more than 1024"),
            (convT + ["--output-shape", "1,6,6,1", "--ksize", "2"], 2, "unknown option '--ksize'"),
            (convT + ["--output-shape", "1,6,6,1", "-x"], 2, "unknown option '-x'"),
            (convT + ["--output-shape", "1,6,6,1", "stray"], 2, "unexpected argument 'stray'"),
            (convT + ["--output-shape", "1,6,6,1", "--strides", "2"], 2, "--strides is given more than once"),
            (convT + ["--output-shape", "1,6,6,1", "--out"], 2, "--out needs a value"),
            (["run", "max_pool_with_argmax", "--input", f.x, "--ksize", "1", "--strides", "1", "--padding", "SAME",
              "--out", "same.npy", "--argmax-out", "same.npy"], 2, "name the same file"),
            (["run", "avg_pool2d", "--input", f.x, "--ksize", "1", "--strides", "1", "--padding", "SAME",
              "--count-include-pad=perhaps"], 2, "takes no value, or =true / =false"),
            // Shapes the library rejects: exit 1 with its message.
            (convT + ["--output-shape", "1,7,7,1"], 1, "output_shape[1] = 7 is not valid: input 3, kernel 3, stride 2, dilation 1, SAME accept 5..6"),
            (convT + ["--output-shape", "1,6,6"], 1, "output_shape"),
            (convT + ["--output-shape", "1,6,6,1", "--dilations", "0"], 1, "invalid argument"),
            (convT + ["--output-shape", "1,6,6,1", "--strides", "1,2,2,2"], 2, "given more than once"),
            (["run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "1,1,1,1", "--strides", "1,2,2,2"], 1,
             "strides[3] = 2: the batch and channel entries must be 1"),
            (["run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "1,1,1,1,1,1,1,1"], 1, "pad"),
            (["run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "-1,0,0,0"], 1, "invalid argument"),
            (["run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "SAME", "--activation", "clamp=5,1"], 1,
             "invalid argument"),
            (["run", "conv3d", "--input", f.x, "--filters", f.w, "--padding", "SAME"], 1,
             "has shape [1, 3, 3, 1] (rank 4); conv3d needs rank 5"),
            (["run", "max_pool1d", "--input", f.x, "--ksize", "2", "--strides", "1", "--padding", "VALID"], 1,
             "max_pool1d needs rank 3, e.g. [N, W, C]"),
            (["run", "avg_pool2d", "--input", f.x, "--ksize", "5", "--strides", "1", "--padding", "VALID"], 1,
             "negative output size"),
            (["run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "SAME", "--data-format", "NCHW"], 1,
             "shape mismatch"),
            (["run", "max_unpool", "--input", f.x, "--argmax", f.x, "--ksize", "1", "--strides", "1", "--padding", "SAME",
              "--output-shape", "1,3,3,1"], 1, "float32 data where int64 indices are expected"),
        ]
        for (args, status, fragment) in cases {
            let r = deconv(args)
            expectFailure(r, status: status, fragment)
        }
        #expect(!FileManager.default.fileExists(atPath: "same.npy"))
    }

    @Test func badFiles() throws {
        let f = try RunFixture()
        defer { f.dir.cleanup() }
        let good = try NPY.encode(try Tensor(shape: [1, 3, 3, 1], range: 1...9))
        let files: [(String, [UInt8], String)] = [
            ("garbage.npy", Array("not numpy at all".utf8), "not a .npy file"),
            ("empty.npy", [], "not a .npy file"),
            ("truncated.npy", Array(good.dropLast(4)), "(truncated)"),
            ("big.npy", npyBytes(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 3, 3, 1), }",
                                 data: [UInt8](repeating: 0, count: 36)), "big-endian"),
            ("fortran.npy", npyBytes(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 3, 3, 1), }",
                                     data: [UInt8](repeating: 0, count: 36)), "fortran_order is True"),
            ("u8.npy", npyBytes(header: "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 3, 3, 1), }",
                                data: [UInt8](repeating: 0, count: 9)), "dtype '|u1' is not supported"),
            ("i64.npy", npyBytes(header: "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3, 3, 1), }",
                                 data: [UInt8](repeating: 0, count: 72)), "int64 data where a float tensor is expected"),
            ("header.npy", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 3, 1) ",
                                    data: [UInt8](repeating: 0, count: 36)), "malformed header"),
            ("huge.npy", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000, 1), }"),
             "needs 4000000000000000 data bytes but the file has 0"),
        ]
        for (name, bytes, fragment) in files {
            let path = try f.dir.write(name, bytes: bytes)
            for (option, args) in [("--input", ["--input", path, "--filters", f.w]), ("--filters", ["--input", f.x, "--filters", path])] {
                let r = deconv(["run", "conv2d_transpose"] + args + ["--output-shape", "1,5,5,1", "--strides", "2",
                                                                     "--out", f.dir.file("never.npy")])
                expectFailure(r, status: 1, "deconv run conv2d_transpose: \(option) \(path): ", fragment)
            }
        }
        expectFailure(deconv("run", "conv2d", "--input", f.dir.file("missing.npy"), "--filters", f.w, "--padding", "SAME"),
                      status: 1, "--input \(f.dir.file("missing.npy")): cannot open: No such file or directory")
        expectFailure(deconv("run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "SAME", "--bias", f.x),
                      status: 1, "--bias has shape [1, 3, 3, 1]; it must be 1-D")
        expectFailure(deconv("run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "SAME",
                             "--bias", try f.dir.write("b2.npy", Tensor([1, 2]))), status: 1, "shape mismatch", "bias")
        expectFailure(deconv("run", "conv2d", "--input", f.x, "--filters", f.x, "--padding", "SAME"), status: 1, "shape mismatch")
        expectFailure(deconv("run", "max_unpool", "--input", f.x, "--argmax",
                             try f.dir.write("a.npy", try IndexTensor(shape: [1, 3, 3], indices: Array(0..<9))),
                             "--ksize", "1", "--strides", "1", "--padding", "SAME", "--output-shape", "1,3,3,1"),
                      status: 1, "--argmax has shape [1, 3, 3] but --input has [1, 3, 3, 1]")
        expectFailure(deconv("run", "max_unpool", "--input", f.x, "--argmax",
                             try f.dir.write("a9.npy", try IndexTensor(shape: [1, 3, 3, 1], indices: [0, 1, 2, 3, 4, 5, 6, 7, 9])),
                             "--ksize", "1", "--strides", "1", "--padding", "SAME", "--output-shape", "1,3,3,1",
                             "--out", f.dir.file("never.npy")),
                      status: 1, "index out of range")
        expectFailure(deconv("run", "conv2d", "--input", f.x, "--filters", f.w, "--padding", "SAME",
                             "--out", f.dir.file("no/such/dir/y.npy")), status: 1, "cannot create")
        // Nothing is written when anything fails.
        #expect(!f.dir.exists("never.npy"))
    }
}

@Suite struct ExecutableTests {
    /// The built `deconv` executable, next to the test bundle in the build directory.
    static func executable() -> URL? {
        var candidates: [URL] = []
        for argument in CommandLine.arguments + [Bundle.main.bundlePath] {
            var url = URL(fileURLWithPath: argument)
            for _ in 0..<4 {
                url.deleteLastPathComponent()
                candidates.append(url.appendingPathComponent("deconv"))
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    func run(_ arguments: [String]) throws -> CLIResult {
        let binary = try #require(Self.executable(), "the deconv executable was not found near \(CommandLine.arguments)")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, out: String(decoding: outData, as: UTF8.self),
                         err: String(decoding: errData, as: UTF8.self))
    }

    @Test func theBinaryExitsWithTheStatusAndPrintsOneLine() throws {
        let version = try run(["--version"])
        #expect(version.status == 0)
        #expect(version.out == deconvVersion + "\n")
        expectFailure(try run(["run", "conv2d", "--input"]), status: 2, "--input needs a value")
        expectFailure(try run(["run", "conv2d", "--input", "/nonexistent/x.npy", "--filters", "w.npy", "--padding", "SAME"]),
                      status: 1, "cannot open")
        let shape = try run(["shape", "conv2d_transpose", "--input", "1,3,3,1", "--filters", "3,3,1,1", "--strides", "2",
                             "--padding", "SAME"])
        #expect(shape.status == 0)
        #expect(shape.out.contains("H: 5 or 6"))
    }
}
