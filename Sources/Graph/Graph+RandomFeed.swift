extension Graph {
    /// Feeds every input with seeded random values for a batch: data uniform in [-1, 1],
    /// labels uniform over the classes of the loss they feed (or 0..<2 when unknown; the two
    /// values of a binary loss).
    /// Used by the gradient check and by `feedbench time`.
    public func feedRandom(batch: Int, seed: UInt64) throws {
        for node in inputNodes {
            var generator = SeededGenerator(seed: seed, stream: "input:" + node.name)
            let tensor = Tensor<Scalar>(zeros: node.shape.concrete(batch: batch))
            if node.shape.isLabel, let values = binaryLabels(ofLabel: node.name) {
                for i in 0..<tensor.count { tensor[i] = values[Int(generator.next() % 2)] }
            } else if node.shape.isLabel {
                let classes = UInt64(classes(ofLabel: node.name) ?? 2)
                for i in 0..<tensor.count { tensor[i] = Scalar(generator.next() % classes) }
            } else {
                for i in 0..<tensor.count { tensor[i] = Scalar(generator.nextUnit() * 2 - 1) }
            }
            try feed(tensor, to: node.name)
        }
    }
}
