import Deconv

// tf.nn.conv2d_transpose: a 3x3 image, a 3x3 identity kernel, stride 2, SAME padding.
let x = try Tensor(shape: [1, 3, 3, 1], range: 1...9)
let w = try Tensor(shape: [3, 3, 1, 1], scalars: [1, 0, 0, 0, 1, 0, 0, 0, 1])
let sizes = try convTransposeOutputSizes(inputShape: x.shape, filterShape: w.shape, strides: 2, padding: .same)
print("TF accepts H in \(sizes[0]) and W in \(sizes[1])")
let y = try conv2dTranspose(x, filters: w, outputShape: [1, 5, 5, 1], strides: 2, padding: .same)
print(y)

// Any other output shape is a thrown DeconvError naming the dim and the accepted range.
do {
    _ = try conv2dTranspose(x, filters: w, outputShape: [1, 7, 6, 1], strides: 2, padding: .same)
} catch let error as DeconvError {
    print(error)
}

// Max pooling with argmax, then max unpooling back to the pre-pool shape.
let (pooled, argmax) = try maxPoolWithArgmax(y, ksize: 2, strides: 2, padding: .same)
print(try maxUnpool(pooled, argmax: argmax, outputShape: y.shape, ksize: 2, strides: 2, padding: .same))

// A Keras-style generator on 2 threads (the same result for any thread count).
let generator = try Sequential(inputShape: [1, 3, 3, 1], seed: 42, [
    Conv2DTranspose(filters: 4, kernelSize: 3, strides: 2, padding: .same, activation: .relu),
    Conv2DTranspose(filters: 1, kernelSize: 3, strides: 2, padding: .same, activation: .tanh),
])
print(try generator(x, context: ExecutionContext(threadCount: 2)).shape)
