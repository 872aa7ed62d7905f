/// Most slices and rows/columns per slice that a description prints before abbreviating.
private let maxSlices = 16
private let maxRowsOrColumns = 24

/// Integral values print without ".0" so matrices of small integers stay compact.
func formatScalar(_ value: Float) -> String {
    if value.isFinite, value == value.rounded(), abs(value) < 1e7 {
        return value == 0 ? "0" : String(Int(value))
    }
    return String(describing: value)
}

/// Text of a tensor: a header line, then one matrix per 2-D slice. For rank >= 3 the matrix
/// spans the last two spatial dims (a single row for one spatial dim) and each slice is
/// labelled with its position in the other dims, ":" marking the dims it spans.
func describeTensor(shape: [Int], layout: DataFormat, count: Int, element: (Int) -> String) -> String {
    var text = "Tensor \(shape) \(layout)"
    let rank = shape.count
    if rank == 0 { return text + "\n" + element(0) }
    if count == 0 { return text + " (empty)" }

    // The two axes a matrix spans (rowAxis nil: one row).
    let rowAxis: Int?
    let columnAxis: Int
    switch rank {
    case 1: (rowAxis, columnAxis) = (nil, 0)
    case 2: (rowAxis, columnAxis) = (0, 1)
    default:
        let spatial = rank - 2
        columnAxis = layout.spatialAxis(spatial - 1, rank: rank)
        rowAxis = spatial >= 2 ? layout.spatialAxis(spatial - 2, rank: rank) : nil
    }
    let otherAxes = (0..<rank).filter { $0 != columnAxis && $0 != rowAxis }

    // Row-major strides of the full shape.
    var strides = [Int](repeating: 1, count: rank)
    for axis in stride(from: rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }

    let sliceCount = otherAxes.reduce(1) { $0 * shape[$1] }
    let rows = rowAxis.map { shape[$0] } ?? 1
    let columns = shape[columnAxis]
    for slice in 0..<min(sliceCount, maxSlices) {
        // Position of this slice in the other axes (row-major over them).
        var position = [Int](repeating: 0, count: rank)
        var rest = slice
        for axis in otherAxes.reversed() {
            position[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        let base = otherAxes.reduce(0) { $0 + position[$1] * strides[$1] }
        if !otherAxes.isEmpty {
            let label = (0..<rank).map { otherAxes.contains($0) ? String(position[$0]) : ":" }
            text += "\n[" + label.joined(separator: ", ") + "]"
        }
        var cells: [[String]] = []
        for r in 0..<min(rows, maxRowsOrColumns) {
            let rowBase = base + (rowAxis.map { r * strides[$0] } ?? 0)
            var line = (0..<min(columns, maxRowsOrColumns)).map { element(rowBase + $0 * strides[columnAxis]) }
            if columns > maxRowsOrColumns { line.append("...") }
            cells.append(line)
        }
        let width = cells.flatMap { $0 }.map(\.count).max() ?? 1
        for line in cells {
            text += "\n" + line.map { String(repeating: " ", count: width - $0.count) + $0 }.joined(separator: " ")
        }
        if rows > maxRowsOrColumns { text += "\n..." }
    }
    if sliceCount > maxSlices { text += "\n... \(sliceCount - maxSlices) more slices" }
    return text
}
