import Deconv
import Testing

@Suite("Tensor and IndexTensor")
struct TensorTests {
    @Test("creation from arrays, ranges, repeating values, matrices")
    func creation() throws {
        let a = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(a.shape == [2, 3] && a.rank == 2 && a.scalarCount == 6 && a.layout == .channelsLast)
        #expect(try Tensor(shape: [2, 3], range: 1...6) == a)
        #expect(try Tensor(shape: [2, 3], range: 1..<7) == a)
        #expect(try Tensor([[1, 2, 3], [4, 5, 6]]) == a)
        #expect(try Tensor(shape: [2, 3], contentsOf: (1...6).map(Float.init)) == a)
        #expect(try Tensor(repeating: 2, shape: [2, 2]).scalars == [2, 2, 2, 2])
        #expect(try Tensor(zeros: [0, 4]).scalarCount == 0)
        #expect(Tensor([1, 2]).shape == [2])
        #expect(try Tensor(shape: [], scalars: [7]).scalarCount == 1)
    }

    @Test("bad shapes and counts throw instead of trapping")
    func badCreation() {
        #expect(thrownCode { _ = try Tensor(shape: [2, -3], scalars: []) } == .invalidShape)
        #expect(thrownCode { _ = try Tensor(repeating: 0, shape: [-1]) } == .invalidShape)
        #expect(thrownCode { _ = try Tensor(shape: [Int.max, 3], scalars: []) } == .overflow)
        #expect(thrownCode { _ = try Tensor(repeating: 0, shape: [1 << 40, 1 << 10]) } == .noMemory)
        #expect(thrownCode { _ = try Tensor(shape: [2], range: 1...3) } == .countMismatch)
        #expect(thrownCode { _ = try Tensor([[1, 2], [3]]) } == .countMismatch)
        #expect(thrownCode { _ = try Tensor(randomUniform: [2], in: -Float.infinity...0, seed: 1) } == .invalidArgument)
        #expect(thrownCode { _ = try IndexTensor(shape: [3], indices: [1]) } == .countMismatch)
    }

    @Test("element access by index, with every index checked")
    func subscripts() throws {
        var t = try Tensor(shape: [1, 2, 3, 1], range: 0...5)
        #expect(try t[0, 1, 2, 0] == 5)
        #expect(try t[index: [0, 0, 1, 0]] == 1)
        try t.setScalar(42, at: [0, 1, 0, 0])
        #expect(try t[0, 1, 0, 0] == 42)
        #expect(thrownCode { _ = try t[0, 2, 0, 0] } == .indexOutOfRange)
        #expect(thrownCode { _ = try t[0, 0, -1, 0] } == .indexOutOfRange)
        #expect(thrownCode { _ = try t[0, 0] } == .indexOutOfRange)
        #expect(thrownCode { try t.setScalar(1, at: [9, 9, 9, 9]) } == .indexOutOfRange)
        var i = try IndexTensor(shape: [2], indices: [3, 4])
        #expect(try i[1] == 4)
        try i.setIndex(7, at: [0])
        #expect(i.indices == [7, 4])
        #expect(thrownCode { _ = try i[2] } == .indexOutOfRange)
    }

    @Test("reshaping keeps scalars, checks counts, may change layout")
    func reshaping() throws {
        let t = try Tensor(shape: [2, 3], range: 1...6)
        let r = try t.reshaped(to: [1, 3, 2, 1])
        #expect(r.shape == [1, 3, 2, 1] && r.scalars == t.scalars)
        #expect(try t.reshaped(to: [1, 1, 6], layout: .channelsFirst).layout == .channelsFirst)
        #expect(thrownCode { _ = try t.reshaped(to: [4]) } == .countMismatch)
    }

    @Test("buffer access")
    func buffers() throws {
        var t = try Tensor(shape: [3], range: 1...3)
        #expect(t.withUnsafeBufferPointer { $0.reduce(0, +) } == 6)
        t.withUnsafeMutableBufferPointer { $0[0] = 10 }
        #expect(t.scalars == [10, 2, 3])
        let i = try IndexTensor(shape: [2], indices: [5, 6])
        #expect(i.withUnsafeBufferPointer { Array($0) } == [5, 6])
    }

    @Test("equality and approximate equality (NaN matches NaN only approximately)")
    func equality() throws {
        let a = try Tensor(shape: [3], scalars: [1, .nan, .infinity])
        var b = a
        #expect(a != b, "NaN != NaN under ==, as Float")
        #expect(a.isApproximatelyEqual(to: b))
        b.withUnsafeMutableBufferPointer { $0[0] = 1.000001 }
        #expect(a.isApproximatelyEqual(to: b))
        #expect(!a.isApproximatelyEqual(to: b, relativeTolerance: 0, absoluteTolerance: 1e-9))
        b.withUnsafeMutableBufferPointer { $0[2] = -.infinity }
        #expect(!a.isApproximatelyEqual(to: b))
        #expect(!a.isApproximatelyEqual(to: try a.reshaped(to: [1, 3])))
        #expect(!a.isApproximatelyEqual(to: try a.reshaped(to: [3], layout: .channelsFirst)))
    }

    @Test("seeded random tensors are reproducible and in range")
    func random() throws {
        let a = try Tensor(randomUniform: [4, 5], in: -2...3, seed: 7)
        #expect(a == (try Tensor(randomUniform: [4, 5], in: -2...3, seed: 7)))
        #expect(a != (try Tensor(randomUniform: [4, 5], in: -2...3, seed: 8)))
        #expect(a.scalars.allSatisfy { $0 >= -2 && $0 < 3 })
        #expect(Set(a.scalars).count > 10)
    }

    @Test("description prints 2-D slices as matrices")
    func description() throws {
        let t = try Tensor(shape: [1, 2, 3, 2], range: 1...12)
        #expect(t.description == """
            Tensor [1, 2, 3, 2] channelsLast
            [0, :, :, 0]
             1  3  5
             7  9 11
            [0, :, :, 1]
             2  4  6
             8 10 12
            """)
        let m = try Tensor([[1.5, -2], [0, 4]])
        #expect(m.description == "Tensor [2, 2] channelsLast\n1.5  -2\n  0   4")
        let cf = try Tensor(shape: [1, 2, 3], range: 1...6, layout: .channelsFirst)
        #expect(cf.description == "Tensor [1, 2, 3] channelsFirst\n[0, 0, :]\n1 2 3\n[0, 1, :]\n4 5 6")
        #expect(try Tensor(zeros: [0, 3]).description == "Tensor [0, 3] channelsLast (empty)")
        let i = try IndexTensor(shape: [2, 2], indices: [0, 11, 2, 3])
        #expect(i.description == "IndexTensor [2, 2] channelsLast\n 0 11\n 2  3")
    }

    @Test("PerDim, Padding and DataFormat parse TF's forms")
    func arguments() throws {
        #expect(DataFormat("NCHW") == .channelsFirst && DataFormat("NDHWC") == .channelsLast && DataFormat("HWC") == nil)
        let x = try Tensor(shape: [1, 4, 4, 1], range: 1...16)
        let w = try Tensor(repeating: 1, shape: [2, 2, 1, 1])
        let short = try conv2d(x, filters: w, strides: 2)
        #expect(try conv2d(x, filters: w, strides: [2, 2]) == short)
        #expect(try conv2d(x, filters: w, strides: [1, 2, 2, 1]) == short)
        #expect(thrownCode { _ = try conv2d(x, filters: w, strides: [2, 2, 2, 2]) } == .invalidArgument)
        #expect(thrownCode { _ = try conv2d(x, filters: w, strides: [2, 2, 2]) } == .invalidArgument)
        let explicit = try conv2d(x, filters: w, padding: .explicit([(1, 0), (0, 1)]))
        #expect(try conv2d(x, filters: w, padding: .explicit([(0, 0), (1, 0), (0, 1), (0, 0)])) == explicit)
        #expect(thrownCode { _ = try conv2d(x, filters: w, padding: .explicit([(1, 0), (0, 1), (0, 0), (0, 0)])) }
            == .invalidArgument)
        #expect(thrownCode { _ = try conv2d(x, filters: w, padding: .explicit([(1, 0)])) } == .invalidArgument)
        #expect(Padding.explicit([(1, 2)]) == .explicit([(1, 2)]) && Padding.same != .valid)
    }
}
