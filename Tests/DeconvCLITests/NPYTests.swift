import Foundation
import Testing
@testable import Deconv

// Fixtures: the exact bytes NumPy 2.4 writes (np.save, or numpy.lib.format.write_array for
// versions 2 and 3) for a = [[1.5, -2, 3], [4, 5, -6.25]] in several dtypes.
enum NumPyFixtures {
    static let f4 = "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f000000c000004040000080400000a0400000c8c0"
    static let f8 = "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000f83f00000000000000c000000000000008400000000000001040000000000000144000000000000019c0"
    // int32 [[1, -2, 3], [4, 5, -6]]
    static let i4 = "934e554d5059010076007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a01000000feffffff030000000400000005000000faffffff"
    // int64 [0, 7, -1, 2**40]
    static let i8 = "934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028342c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a00000000000000000700000000000000ffffffffffffffff0000000000010000"
    static let v2 = "934e554d50590200740000007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f000000c000004040000080400000a0400000c8c0"
    static let v3 = "934e554d50590300740000007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f000000c000004040000080400000a0400000c8c0"
    // np.float32(2.5), shape ()
    static let scalar = "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a00002040"
    // np.zeros((2, 0, 3), float32)
    static let empty = "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20302c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a"
}

let fixtureValues: [Float] = [1.5, -2, 3, 4, 5, -6.25]

/// A v1 .npy file with `header` as its dict text (padded like NumPy) and `data` after it.
func npyBytes(header: String, data: [UInt8] = [], major: UInt8 = 1) -> [UInt8] {
    var dict = Array(header.utf8)
    let preamble = major == 1 ? 10 : 12
    let total = (preamble + dict.count + 1 + 63) / 64 * 64
    dict += [UInt8](repeating: 0x20, count: total - preamble - dict.count - 1) + [0x0A]
    var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0]
    for i in 0..<(major == 1 ? 2 : 4) { out.append(UInt8(truncatingIfNeeded: dict.count >> (8 * i))) }
    return out + dict + data
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> (8 * $0)) } }
}

@Suite struct NPYReadTests {
    @Test func readsNumPyFloat32AndItsOtherVersions() throws {
        for hex in [NumPyFixtures.f4, NumPyFixtures.v2, NumPyFixtures.v3] {
            let t = try NPY.decodeTensor(hexBytes(hex))
            #expect(t.shape == [2, 3])
            #expect(t.scalars == fixtureValues)
        }
    }

    @Test func convertsFloat64AndInt32ToFloat32() throws {
        #expect(try NPY.decodeTensor(hexBytes(NumPyFixtures.f8)).scalars == fixtureValues)
        let i = try NPY.decodeTensor(hexBytes(NumPyFixtures.i4))
        #expect(i.shape == [2, 3])
        #expect(i.scalars == [1, -2, 3, 4, 5, -6])
    }

    @Test func readsInt64AndWidensInt32Indices() throws {
        let a = try NPY.decodeIndexTensor(hexBytes(NumPyFixtures.i8))
        #expect(a.shape == [4])
        #expect(a.indices == [0, 7, -1, 1 << 40])
        #expect(try NPY.decodeIndexTensor(hexBytes(NumPyFixtures.i4)).indices == [1, -2, 3, 4, 5, -6])
    }

    @Test func readsScalarsAndEmptyTensors() throws {
        let s = try NPY.decodeTensor(hexBytes(NumPyFixtures.scalar))
        #expect(s.shape == [])
        #expect(s.scalars == [2.5])
        let e = try NPY.decodeTensor(hexBytes(NumPyFixtures.empty))
        #expect(e.shape == [2, 0, 3])
        #expect(e.scalars.isEmpty)
    }

    @Test func writesExactlyWhatNumPyWrites() throws {
        let t = try Tensor(shape: [2, 3], scalars: fixtureValues)
        #expect(try NPY.encode(t) == hexBytes(NumPyFixtures.f4))
        #expect(try NPY.encode(Tensor(shape: [], scalars: [2.5])) == hexBytes(NumPyFixtures.scalar))
        #expect(try NPY.encode(Tensor(zeros: [2, 0, 3])) == hexBytes(NumPyFixtures.empty))
        let a = try IndexTensor(shape: [4], indices: [0, 7, -1, 1 << 40])
        #expect(try NPY.encode(a) == hexBytes(NumPyFixtures.i8))
    }

    @Test func roundTripsThroughFilesWithSpecialValues() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let values: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-30]
        let t = try Tensor(shape: [1, 2, 4, 1], scalars: values, layout: .channelsFirst)
        let back = try NPY.readTensor(path: try dir.write("t.npy", t), layout: .channelsFirst)
        #expect(back.shape == t.shape)
        #expect(back.layout == .channelsFirst)
        #expect(zip(back.scalars, values).allSatisfy { $0.bitPattern == $1.bitPattern })
        let idx = try IndexTensor(shape: [3], indices: [Int64.min, -1, Int64.max])
        #expect(try NPY.readIndexTensor(path: try dir.write("i.npy", idx)) == idx)
    }

    @Test func aLargeShapeGetsAVersion2HeaderOnlyWhenNeeded() throws {
        // A rank-5 shape keeps a v1 header; the data offset is always a multiple of 64.
        let t = try Tensor(zeros: [1, 2, 3, 4, 5])
        let bytes = try NPY.encode(t)
        #expect(bytes[6] == 1)
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes.count == 10 + headerLength + 4 * 120)
    }

    @Test func acceptsHeaderVariantsNumPyAccepts() throws {
        let data = floatBytes([1, 2])
        // Double quotes, no trailing comma, keys in another order, Python 2 long dims.
        for header in [#"{"descr": "<f4", "fortran_order": False, "shape": (2,)}"#,
                       "{'shape': (2L,), 'fortran_order': False, 'descr': '<f4'}",
                       "{'descr':'<f4','fortran_order':False,'shape':(1, 2,),}"] {
            let t = try NPY.decodeTensor(npyBytes(header: header, data: data))
            #expect(t.scalars == [1, 2], "\(header)")
        }
    }
}

@Suite struct NPYBadFileTests {
    func expectError(_ bytes: [UInt8], _ kind: NPYError.Kind, _ fragment: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try NPY.decodeTensor(bytes, name: "f.npy")
            Issue.record("decoded a bad file (\(fragment))", sourceLocation: sourceLocation)
        } catch let error as NPYError {
            #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
            #expect(error.message.hasPrefix("f.npy: "), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"

    @Test func rejectsWhatIsNotANpyFile() {
        expectError([], .malformedHeader, "not a .npy file")
        expectError(Array("hello world, not numpy".utf8), .malformedHeader, "not a .npy file")
        expectError([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0x10], .malformedHeader, "not a .npy file")
        expectError([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0x10, 0], .malformedHeader, "ends inside the .npy preamble")
        var v4 = npyBytes(header: good, data: floatBytes([1, 2]))
        v4[6] = 4
        expectError(v4, .malformedHeader, "version 4.0")
    }

    @Test func rejectsTruncatedAndOverlongFiles() {
        let full = npyBytes(header: good, data: floatBytes([1, 2]))
        expectError(Array(full.dropLast(3)), .sizeMismatch, "truncated")
        expectError(Array(full.prefix(40)), .malformedHeader, "header says")
        expectError(full + [0], .sizeMismatch, "needs 8 data bytes but the file has 9")
        // A header length pointing far past the end of the file.
        var lying = full
        lying[8] = 0xFF
        lying[9] = 0xFF
        expectError(lying, .malformedHeader, "header says 65535 bytes")
    }

    @Test func rejectsFortranOrderBigEndianAndOtherDtypes() {
        expectError(npyBytes(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: floatBytes([1, 2])),
                    .fortranOrder, "fortran_order is True")
        expectError(npyBytes(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: floatBytes([1, 2])),
                    .unsupportedDType, "big-endian")
        for descr in ["|u1", "<f2", "<c8", "<U3", "|b1", "=f4", "O"] {
            expectError(npyBytes(header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': (2,), }", data: floatBytes([1, 2])),
                        .unsupportedDType, "dtype '\(descr)' is not supported")
        }
        // int64 is for indices, not values (and the reverse).
        expectError(npyBytes(header: "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0, count: 8)),
                    .unsupportedDType, "int64 data where a float tensor is expected")
        #expect(throws: NPYError.self) { try NPY.decodeIndexTensor(hexBytes(NumPyFixtures.f4)) }
    }

    @Test func rejectsMalformedHeaders() {
        let cases: [(String, String)] = [
            ("", "expected '{'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected '}'"),
            ("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", "expected '}'"),
            ("{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }", "expected ':'"),
            ("{'descr': '<f4', 'fortran_order': false, 'shape': (2,), }", "expected a string, True, False or a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", "expected a string, True, False or a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", "trailing comma"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", "non-negative integer"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,), }", "trailing comma"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", "text after the dict"),
            ("{'descr': '<f4', 'fortran_order': False, }", "no 'shape' tuple"),
            ("{'descr': 5, 'fortran_order': False, 'shape': (2,), }", "expected a string"),
            ("{'fortran_order': False, 'shape': (2,), }", "no 'descr' string"),
            ("{'descr': '<f4', 'shape': (2,), }", "no 'fortran_order'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 'y'}", "unexpected header key 'x'"),
            ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "duplicate key"),
            ("{'descr': '<f\\4', 'fortran_order': False, 'shape': (2,), }", "escapes"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'é': 1}", "non-ASCII"),
        ]
        for (header, fragment) in cases {
            expectError(npyBytes(header: header, data: floatBytes([1, 2])), .malformedHeader, fragment)
        }
    }

    @Test func rejectsAbsurdSizesWithoutAllocating() {
        expectError(npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }"),
                    .tooLarge, "too large")
        expectError(npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
                    .tooLarge, "more elements")
        expectError(npyBytes(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,), }"),
                    .tooLarge, "byte size overflows")
        // Large but representable: a size mismatch, found before any allocation.
        expectError(npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }"),
                    .sizeMismatch, "needs 4000000000000 data bytes but the file has 0")
    }

    @Test func reportsFileErrors() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        #expect(throws: NPYError(.io, "\(dir.file("missing.npy")): cannot open: No such file or directory")) {
            try NPY.readTensor(path: dir.file("missing.npy"))
        }
        do {
            _ = try NPY.readTensor(path: dir.path)
            Issue.record("read a directory")
        } catch let error as NPYError {
            #expect(error.kind == .io)
        }
        #expect(throws: NPYError.self) { try NPY.write(Tensor([1]), path: dir.file("no/such/dir/x.npy")) }
    }
}
