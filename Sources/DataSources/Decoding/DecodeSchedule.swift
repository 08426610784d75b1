/// The chunk decodes an epoch will make, in order, worked out from its plan before the
/// epoch starts: a simulation of a cache of decoded blocks that keeps a block until its last
/// use and, past the byte budget, drops the block needed farthest in the future first (the
/// fewest decodes any cache of that size allows). Sequential and chunk-shuffle epochs, and
/// shuffled ones whose decoded blocks fit the budget, decode each block exactly once.
struct DecodeSchedule {
    /// One decode: the block, and the batches whose rows come from this decoded copy.
    struct Job {
        let key: Int
        let bytes: Int
        let firstUse: Int
        var lastUse: Int
    }

    private(set) var jobs: [Job] = []
    /// For each batch, the jobs whose copies it is the first to use, and the last to use.
    private(set) var starting: [[Int]] = []
    private(set) var ending: [[Int]] = []
    /// For each batch, the index of the first job it starts (or would start).
    private(set) var firstJob: [Int] = []

    /// - Parameters:
    ///   - uses: for each batch, the distinct blocks it reads (keys) and their sizes.
    ///   - budget: bytes of decoded blocks kept at most (a batch's own blocks always are).
    init(uses: [[(key: Int, bytes: Int)]], budget: Int) {
        let batches = uses.count
        starting = Array(repeating: [], count: batches)
        ending = Array(repeating: [], count: batches)
        firstJob = Array(repeating: 0, count: batches + 1)
        // Every block's uses, to know its next use at any point.
        var positions: [Int: [Int]] = [:]
        for (p, blocks) in uses.enumerated() { for b in blocks { positions[b.key, default: []].append(p) } }
        var cursor: [Int: Int] = [:]
        func nextUse(_ key: Int, after p: Int) -> Int {
            let list = positions[key]!
            var i = cursor[key] ?? 0
            while i < list.count && list[i] <= p { i += 1 }
            cursor[key] = i
            return i < list.count ? list[i] : Int.max
        }
        var cached: [Int: Int] = [:]  // block → its current job
        var cachedBytes = 0
        for (p, blocks) in uses.enumerated() {
            firstJob[p] = jobs.count
            let needed = Set(blocks.map(\.key))
            for (key, bytes) in blocks {
                if let j = cached[key] {
                    jobs[j].lastUse = p
                    continue
                }
                while cachedBytes + bytes > budget {
                    // The block needed farthest ahead leaves (never the batch's own).
                    var victim: Int? = nil, farthest = -1
                    for (k, _) in cached where !needed.contains(k) {
                        let n = nextUse(k, after: p - 1)
                        if n > farthest { (farthest, victim) = (n, k) }
                    }
                    guard let victim, let j = cached.removeValue(forKey: victim) else { break }
                    cachedBytes -= jobs[j].bytes
                    ending[jobs[j].lastUse].append(j)
                }
                cached[key] = jobs.count
                cachedBytes += bytes
                starting[p].append(jobs.count)
                jobs.append(Job(key: key, bytes: bytes, firstUse: p, lastUse: p))
            }
            // Blocks no later batch reads leave now.
            for key in needed where nextUse(key, after: p) == Int.max {
                if let j = cached.removeValue(forKey: key) {
                    cachedBytes -= jobs[j].bytes
                    ending[p].append(j)
                }
            }
        }
        firstJob[batches] = jobs.count
    }
}
