import Foundation
import Testing
@testable import DeconvCLI
import Deconv

@Suite struct TopLevelTests {
    @Test func versionIsTheLibrarys() {
        for word in ["--version", "version"] {
            let r = deconv(word)
            #expect(r.status == 0)
            #expect(r.out == deconvVersion + "\n")
            #expect(r.err.isEmpty)
        }
        #expect(deconvVersion.split(separator: ".").count == 3)
    }

    @Test func helpForEveryCommandAndOp() {
        for args in [[], ["--help"], ["-h"], ["help"]] {
            let r = deconv(args)
            #expect(r.status == 0)
            #expect(r.out.contains("usage: deconv <command>") && r.out.contains("bench"))
        }
        for command in ["demo", "shape", "run", "bench"] {
            let r = deconv(command, "--help")
            #expect(r.status == 0, "\(command)")
            #expect(r.out.hasPrefix("usage: deconv \(command)"), "\(command): \(r.out)")
            #expect(r.err.isEmpty)
        }
        for op in OpInfo.all {
            for command in ["run", "shape"] {
                let r = deconv(command, op.name, "--help")
                #expect(r.status == 0)
                #expect(r.out.hasPrefix("usage: deconv \(command) \(op.name)"))
                #expect(r.out.contains("--input") && r.out.contains("--padding") && r.out.contains("--strides"))
            }
        }
        #expect(deconv("run", "max_unpool", "--help").out.contains("--argmax V"))
        #expect(deconv("run", "max_pool_with_argmax", "--help").out.contains("--include-batch-in-index"))
        #expect(deconv("run", "conv3d_transpose", "--help").out.contains("--output-shape"))
    }

    @Test func unknownCommandsAndOps() {
        expectFailure(deconv("frobnicate"), status: 2, "unknown command 'frobnicate'")
        expectFailure(deconv("run"), status: 2, "which op?")
        expectFailure(deconv("shape"), status: 2, "which op?")
        expectFailure(deconv("run", "conv4d"), status: 2, "unknown op 'conv4d'", "conv2d_transpose")
        expectFailure(deconv("shape", "deconv2d"), status: 2, "unknown op 'deconv2d'")
        expectFailure(deconv("demo", "extra"), status: 2, "unexpected argument 'extra'")
        expectFailure(deconv("demo", "--threads", "x"), status: 2, "--threads must be a non-negative integer")
        expectFailure(deconv("demo", "--fast"), status: 2, "unknown option '--fast'")
    }
}

@Suite struct DemoTests {
    @Test func demoShowsTheWorkedExampleRoundTripsAndGenerator() {
        let r = deconv("demo", "--threads", "1")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.isEmpty)
        // The 6x6 and 5x5 results of tf-semantics.md's worked example, side by side.
        let rows6 = [" 1  0  2  0  3  0", " 0  1  0  2  0  3", " 4  0  6  0  8  0",
                     " 0  4  0  5  0  6", " 7  0 12  0 14  0", " 0  7  0  8  0  9"]
        let rows5 = [" 1  0  2  0  3", " 0  6  0  8  0", " 4  0  5  0  6", " 0 12  0 14  0", " 7  0  8  0  9"]
        let lines = r.out.split(separator: "\n").map(String.init)
        for (i, row) in rows6.enumerated() {
            #expect(lines.contains { $0.hasSuffix(row) && (i == 5 || $0.contains(rows5[i])) }, "row \(i)")
        }
        #expect(r.out.contains("H, W in 5...6"))
        #expect(r.out.contains("pads 0 before, 1 after"))
        #expect(r.out.contains("by k-1-before = 2 at the top/left and 1 at the"))
        #expect(r.out.contains("y5 == y6[1:, 1:] is true"))
        // 3-D round trip with the shapes of the issue.
        #expect(r.out.contains("x [10, 2, 7, 7, 4]"))
        #expect(r.out.contains("-> [10, 1, 4, 4, 8] + int64 argmax"))
        #expect(r.out.contains("-max_unpool-> [10, 2, 7, 7, 8] -conv3d_transpose-> [10, 2, 7, 7, 4]"))
        #expect(r.out.components(separatedBy: "restored: true").count == 3)
        #expect(r.out.components(separatedBy: "sum equal to the pooled sum: true").count == 3)
        // Every window max is nonzero for this random data, so the nonzero count is the window count.
        #expect(r.out.contains("256 of 1024 cells nonzero"))
        #expect(r.out.contains("1280 of 7840 cells nonzero"))
        #expect(r.out.contains("[8, 4096] -> [8, 4, 4, 256] -> [8, 8, 8, 128] -> [8, 16, 16, 64] -> [8, 32, 32, 3]"))
        #expect(r.out.contains("ms on 1 thread for a batch of 8"))
        #expect(!r.out.contains("false"))
    }
}

@Suite struct ShapeCommandTests {
    @Test func transposedConvListsEveryValidOutputShapeAndPads() {
        let r = deconv("shape", "conv2d_transpose", "--input", "1,3,3,1", "--filters", "3,3,1,1", "--strides", "2",
                       "--padding", "SAME")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("H: 5 or 6   W: 5 or 6"))
        for shape in ["[1, 5, 5, 1]", "[1, 5, 6, 1]", "[1, 6, 5, 1]", "[1, 6, 6, 1]"] {
            #expect(r.out.contains("  \(shape)\n"), "\(shape)")
        }
        #expect(r.out.contains("Keras Conv2DTranspose(padding='same') picks [1, 6, 6, 1]"))
        #expect(r.out.contains("H = 5: forward 1 before, 1 after -> transposed 1 at the start, 1 at the end\n"))
        #expect(r.out.contains("H = 6: forward 0 before, 1 after -> transposed 2 at the start, 1 at the end (more at the start)"))
        #expect(r.out.contains("W = 6: forward 0 before, 1 after"))
    }

    @Test func transposedConvWithAnOutputShapeAndOtherForms() {
        let ok = deconv("shape", "conv2d_transpose", "--input", "1,3,3,1", "--filters", "3,3,1,1", "--strides", "2",
                        "--output-shape", "1,5,6,1")
        #expect(ok.status == 0)
        #expect(ok.out.contains("output_shape [1, 5, 6, 1] is valid; forward pads H 1 before / 1 after, W 0 before / 1 after"))
        expectFailure(deconv("shape", "conv2d_transpose", "--input", "1,3,3,1", "--filters", "3,3,1,1", "--strides", "2",
                             "--output-shape", "1,7,7,1"),
                      status: 1, "invalid output_shape", "output_shape[1] = 7", "SAME accept 5..6")
        // VALID, channels-first, 1-D and 3-D, strides in TF's full form.
        let valid = deconv("shape", "conv1d_transpose", "--input", "2,3,4", "--filters", "3,5,3", "--strides", "1,1,2",
                           "--padding", "VALID", "--data-format", "NCW")
        #expect(valid.status == 0, "\(valid.err)")
        #expect(valid.out.contains("W: 9 or 10"))
        #expect(valid.out.contains("Keras Conv1DTranspose(padding='valid') picks [2, 5, 9]"))
        let vol = deconv("shape", "conv3d_transpose", "--input", "10,1,4,4,512", "--filters", "3,3,3,512,512",
                         "--strides", "2")
        #expect(vol.out.contains("D: 1 or 2   H: 7 or 8   W: 7 or 8"))
        #expect(vol.out.contains("[10, 2, 7, 7, 512]"))
        let many = deconv("shape", "conv2d_transpose", "--input", "1,3,3,1", "--filters", "3,3,1,1", "--strides", "9",
                          "--padding", "SAME")
        #expect(many.out.contains("H: 19...27"))
        #expect(many.out.contains("81 valid output_shapes, from [1, 19, 19, 1] to [1, 27, 27, 1]"))
    }

    @Test func forwardOpsPrintShapeAndPads() {
        let conv = deconv("shape", "conv2d", "--input", "1,7,7,3", "--filters", "3,3,3,8", "--strides", "2",
                          "--padding", "SAME")
        #expect(conv.status == 0)
        #expect(conv.out.contains("output shape: [1, 4, 4, 8]"))
        #expect(conv.out.contains("H: in 7, k 3, stride 2: SAME: out = ceil(7/2) = 4; total pad = max(0, (4-1)*2 + 3 - 7) = 2 -> 1 before, 1 after"))
        let odd = deconv("shape", "conv2d", "--input", "1,6,6,1", "--filters", "3,3,1,1", "--strides", "2", "--padding", "SAME")
        #expect(odd.out.contains("-> 0 before, 1 after (the odd pad goes at the end)"))
        let dil = deconv("shape", "conv1d", "--input", "1,10,4", "--filters", "3,2,6", "--dilations", "2",
                         "--padding", "VALID")
        #expect(dil.out.contains("output shape: [1, 6, 6] (groups 2)"))
        #expect(dil.out.contains("k 3 dilation 2 (k_eff 5)"))
        let explicit = deconv("shape", "conv2d", "--input", "1,5,5,1", "--filters", "3,3,1,1",
                              "--padding", "0,0,1,2,0,0,0,0")
        #expect(explicit.out.contains("output shape: [1, 6, 3, 1]"))
        #expect(explicit.out.contains("EXPLICIT: out = floor((5 + 1 + 2 - 3 + 1)/1) = 6; pads 1 before, 2 after"))
        let pool = deconv("shape", "max_pool_with_argmax", "--input", "10,2,7,7,4", "--ksize", "2", "--strides", "2",
                          "--padding", "SAME")
        #expect(pool.out.contains("output shape: [10, 1, 4, 4, 4]"))
        #expect(pool.out.contains("(((b * D + d) * H + h) * W + w) * C + c"))
        let avg = deconv("shape", "avg_pool2d", "--input", "1,4,4,1", "--ksize", "3", "--strides", "1", "--padding", "VALID")
        #expect(avg.out.contains("output shape: [1, 2, 2, 1]"))
        #expect(avg.out.contains("VALID: out = floor((4 - 3 + 1)/1) = 2; no pad"))
    }

    @Test func unpoolListsThePrePoolSizes() {
        let r = deconv("shape", "max_unpool", "--input", "10,1,4,4,8", "--ksize", "2", "--strides", "2", "--padding", "SAME",
                       "--output-shape", "10,2,7,7,8")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("output_shape [10, 2, 7, 7, 8] is valid"))
        #expect(r.out.contains("D: 1 or 2   H: 7 or 8   W: 7 or 8"))
        expectFailure(deconv("shape", "avg_unpool", "--input", "10,1,4,4,8", "--ksize", "2", "--strides", "2",
                             "--padding", "SAME", "--output-shape", "10,2,9,7,8"),
                      status: 1, "pools to [10, 1, 5, 4, 8], not to the input [10, 1, 4, 4, 8]")
    }

    @Test func friendlyErrors() {
        let base = ["shape", "conv2d_transpose", "--input", "1,3,3,1", "--filters", "3,3,1,1"]
        expectFailure(deconv(["shape", "conv2d_transpose", "--filters", "3,3,1,1"]), status: 2, "--input is required")
        expectFailure(deconv(["shape", "conv2d_transpose", "--input", "1,3,3,1"]), status: 2, "--filters is required")
        expectFailure(deconv(["shape", "conv2d", "--input", "1,3,3,1", "--filters", "3,3,1,1"]), status: 2, "--padding is required")
        expectFailure(deconv(["shape", "conv2d", "--input", "1,3,3", "--filters", "3,3,1,1", "--padding", "SAME"]),
                      status: 2, "has 3 dims; conv2d needs 4")
        expectFailure(deconv(base + ["--strides", "two"]), status: 2, "--strides takes comma-separated integers")
        expectFailure(deconv(base + ["--strides"]), status: 2, "--strides needs a value")
        expectFailure(deconv(base + ["--strides", "2,2,2"]), status: 1, "strides has 3 values; expected 1 or 2 or 4")
        expectFailure(deconv(base + ["--strides", "0"]), status: 1, "invalid argument")
        expectFailure(deconv(base + ["--data-format", "NDHWC"]), status: 2, "does not fit 2 spatial dims; use NHWC or NCHW")
        expectFailure(deconv(base + ["--padding", "1,2,3"]), status: 2, "explicit pads come in before,after pairs")
        expectFailure(deconv(["shape", "conv2d", "--input", "1,3,3,1", "--filters", "5,5,1,1", "--padding", "VALID"]),
                      status: 1, "negative output size")
        expectFailure(deconv(["shape", "max_pool2d", "--input", "1,3,3,1", "--strides", "1", "--padding", "VALID"]),
                      status: 2, "--ksize is required")
        expectFailure(deconv(["shape", "max_pool_with_argmax", "--input", "1,3", "--ksize", "1", "--strides", "1",
                              "--padding", "VALID"]), status: 2, "expected 3, 4 or 5")
        expectFailure(deconv(["shape", "conv2d", "--input", "1,-3,3,1", "--filters", "3,3,1,1", "--padding", "SAME"]),
                      status: 1, "invalid shape")
    }
}

@Suite struct BenchTests {
    @Test func runsAFilteredLayerQuickly() {
        let r = deconv("bench", "--filter", "seed_small", "--repeat", "3", "--warmup", "0", "--threads", "1")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("[1/1] seed_small ..."))
        #expect(r.err.contains("[1/1] seed_small: "))
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(r.out)")
        #expect(lines[0].contains("1 thread, median of 3 runs"))
        #expect(lines[1].hasPrefix("layer") && lines[1].contains("median ms") && lines[1].hasSuffix("GFLOP/s"))
        #expect(lines[3].hasPrefix("seed_small  conv_transpose  [1, 3, 3, 4] -> [1, 6, 6, 2]"))
        let two = deconv("bench", "--filter", "seed,lenet_c1", "--repeat", "1", "--warmup", "0")
        #expect(two.status == 0)
        #expect(two.out.contains("seed_small") && two.out.contains("lenet_c1"))
    }

    @Test func badOptions() {
        expectFailure(deconv("bench", "--filter", "resnet"), status: 2, "matches no layer", "dcgan1")
        expectFailure(deconv("bench", "--repeat", "0"), status: 2, "--repeat must be at least 1")
        expectFailure(deconv("bench", "--threads", "2000"), status: 2, "more than 1024")
        expectFailure(deconv("bench", "--repeat", "-3"), status: 2, "--repeat must be a non-negative integer")
    }

    @Test func usefulFlopsSkipPaddingTaps() throws {
        let layer = { (name: String) in BenchCommand.suite.first { $0.name == name }! }
        // seed_small: 3 -> 6, k 3, s 2, SAME, pad 0 before: per dim taps i*2 + a in [0, 6): 3 + 3 + 2 = 8.
        let seed = layer("seed_small")
        #expect(BenchCommand.usefulFlops(seed, pads: [(0, 1), (0, 1)]) == 2 * 1 * 4 * 2 * 8 * 8)
        // vgg3x3: 56 -> 56, k 3, SAME pad 1: every output reads 3 taps except the two edges (2).
        let vgg = layer("vgg3x3")
        #expect(BenchCommand.usefulFlops(vgg, pads: [(1, 1), (1, 1)]) == 2 * 128 * 128 * 166 * 166)
        // unet_up: VALID, k 2 = s 2: nothing is padding.
        let unet = layer("unet_up")
        #expect(BenchCommand.usefulFlops(unet, pads: [(0, 0), (0, 0)]) == 2 * 512 * 256 * 32 * 32 * 4)
        #expect(BenchCommand.suite.count == 13)
    }
}
