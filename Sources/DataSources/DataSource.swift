import Foundation
import Graph

/// One batch: data as float32 [B] + sample shape, and one label per sample.
///
/// A source reuses batch buffers once nobody else holds them: keep a batch as long as you
/// like, and the source allocates a fresh buffer instead of overwriting it.
public struct Batch: @unchecked Sendable {
    /// [count] + sample shape, float32.
    public let data: Tensor<Float>
    /// [count], the class labels (or regression targets) as floats.
    public let labels: Tensor<Float>
    /// The number of samples.
    public var count: Int { data.rows }

    public init(data: Tensor<Float>, labels: Tensor<Float>) {
        self.data = data
        self.labels = labels
    }
}

/// The order in which an epoch visits the samples (see DESIGN.md).
public enum SampleOrder: String, Sendable, CaseIterable {
    /// List order, file by file.
    case sequential
    /// A seeded permutation of all samples across all files.
    case shuffle
    /// Caffe's: file order shuffled, and rows within each file; files never mixed.
    case fileShuffle = "file-shuffle"
    /// Chunks in random order, then shuffled again inside a window of chunks.
    case chunkShuffle = "chunk-shuffle"
}

/// What one epoch should deliver.
public struct EpochOptions: Sendable {
    public var batchSize: Int
    public var order: SampleOrder
    /// The seed of the epoch's order; use a different one each epoch (`seed &+ epoch`).
    public var seed: UInt64
    /// Drop the last batch when it is smaller than `batchSize`.
    public var dropLast: Bool
    /// For `chunk-shuffle`: how many chunks are mixed together.
    public var chunkWindow: Int
    /// Batch buffers the iterator cycles through; a prefetcher raises it to its depth + 3 so
    /// that queued batches never force a new allocation.
    public var buffers: Int
    /// Bytes of decoded chunks the epoch keeps at most (nil: the source's default).
    public var decodedCacheBytes: Int?
    /// One of `shards` consumers (data-parallel accelerators): the epoch's order is cut into
    /// `shards` equal contiguous blocks (`samples / shards` each; the rest is left out, so
    /// every consumer takes the same number of steps) and this one reads block `shard`.
    public var shard = 0, shards = 1
    /// This rank's share of the epoch when several ranks (`mpirun`) train or read together.
    public var rankShard: RankShard?
    /// One of `lanes` reader threads of a consumer: this one reads batches `lane`,
    /// `lane + lanes`, … of the (shard's) epoch.
    public var lane = 0, lanes = 1
    /// Batch buffers to take batches from instead of the iterator's own (a reader that runs
    /// epoch after epoch keeps one ring, so large batches are not allocated again each epoch).
    public var ring: BatchRing?

    public init(batchSize: Int, order: SampleOrder = .sequential, seed: UInt64 = 0, dropLast: Bool = false,
                chunkWindow: Int = 8, buffers: Int = 3, decodedCacheBytes: Int? = nil) {
        self.batchSize = batchSize
        self.order = order
        self.seed = seed
        self.dropLast = dropLast
        self.chunkWindow = chunkWindow
        self.buffers = buffers
        self.decodedCacheBytes = decodedCacheBytes
    }
}

/// Delivers the batches of one epoch.
public protocol BatchIterator: AnyObject {
    /// The next batch, or nil at the end of the epoch.
    func next() throws -> Batch?
    /// What decoding cost so far this epoch (nil for sources that decode nothing).
    var statistics: EpochStatistics? { get }
}

extension BatchIterator {
    public var statistics: EpochStatistics? { nil }
}

/// A data set FeedBench can read: an HDF5 file list, an LMDB, a raw file, memory.
/// A new backend is one new type conforming to this protocol. It holds what training needs;
/// what only measurement needs (the files and their bytes on disk, dropping them from the
/// page cache) is `FileBacked`.
public protocol DataSource: AnyObject {
    /// A name for messages and reports (the path it was opened from).
    var name: String { get }
    /// The shape of one sample.
    var sampleShape: [Int] { get }
    /// Samples in the whole set.
    var sampleCount: Int { get }
    /// The number of classes (max label + 1), when the source knows it.
    var classes: Int? { get }
    /// How the samples are grouped in storage; the orders use it.
    var segments: SampleSegments { get }
    /// The element type the samples are stored as, when there is one (an HDF5 list: the
    /// first file's); a writer keeps it unless told otherwise.
    var storedType: StoredType? { get }
    /// Starts an epoch. Every check of the stored data happened when the source opened.
    func makeIterator(_ options: EpochOptions) throws -> any BatchIterator
}

extension DataSource {
    public var storedType: StoredType? { nil }
    /// Elements in one sample.
    public var sampleElements: Int { sampleShape.reduce(1, *) }
}

/// A source whose samples live in files: what the benchmark needs to report bytes on disk
/// and to run cold epochs.
public protocol FileBacked: AnyObject {
    /// The files the source reads.
    var files: [String] { get }
    /// Drops those files from the page cache for a cold epoch, unmapping this source's own
    /// pages first (the kernel keeps mapped pages). A request only: measure residency after.
    func evictFromPageCache()
}

extension FileBacked {
    public func evictFromPageCache() { PageCache.evict(files) }
    /// Bytes the source reads from storage in one epoch (the files' sizes).
    public var storedBytes: Int {
        files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    }
}

/// The storage structure the orders need: the samples split into files (consecutive
/// ranges), and each file into chunks of `chunkRows` samples.
public struct SampleSegments: Sendable, Equatable {
    /// Samples per file, in list order.
    public var fileSizes: [Int]
    /// Samples per chunk in each file (the dataset's chunk rows, or a block size for
    /// contiguous storage).
    public var chunkRows: [Int]

    public init(fileSizes: [Int], chunkRows: [Int]) {
        self.fileSizes = fileSizes
        self.chunkRows = chunkRows
    }

    /// One file of `count` samples.
    public static func single(_ count: Int, chunkRows: Int = 64) -> SampleSegments {
        SampleSegments(fileSizes: [count], chunkRows: [chunkRows])
    }

    /// The first global index of each file.
    public var fileStarts: [Int] {
        var starts: [Int] = []
        var total = 0
        for size in fileSizes {
            starts.append(total)
            total += size
        }
        return starts
    }
}

/// Bad input: names the file (and the line or key) and what is wrong with it.
public struct DataSourceError: FeedBenchError, Sendable {
    public let description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
}
