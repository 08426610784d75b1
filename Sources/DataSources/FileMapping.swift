import Foundation

/// A whole file mapped read-only, guarded against the file shrinking (`MappingGuard`);
/// unmapped exactly once, in `deinit`.
///
/// The bytes stay valid while the mapping lives. Pages come from the page cache on first
/// touch, so a cold read costs page faults with the kernel's read-around.
final class FileMapping {
    let base: UnsafeRawPointer
    let length: Int
    let path: String
    /// Its entry in `MappingGuard` (a SIGBUS in it becomes an error naming the file).
    private var guardSlot: Int?

    init(path: String, context: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataSourceError(context, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataSourceError(context, "cannot stat: \(String(cString: strerror(errno)))") }
        length = max(Int(info.st_size), 1)
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw DataSourceError(context, "cannot map: \(String(cString: strerror(errno)))") }
        base = UnsafeRawPointer(p)
        guardSlot = MappingGuard.register(base, length: length)
    }

    /// Throws naming the file when a read of the mapping faulted (the file shrank).
    func check() throws { try MappingGuard.check(guardSlot, path: path) }

    /// Unmaps this process's pages of the file (they come back on the next touch), so that
    /// the kernel can evict them.
    func dropPages() { madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_DONTNEED) }

    deinit {
        MappingGuard.unregister(guardSlot)
        munmap(UnsafeMutableRawPointer(mutating: base), length)
    }
}

/// A source whose reads go through file mappings: after each batch, `checkMappings` throws
/// naming the file if a read faulted (the file was truncated while being read).
protocol MappedReads: AnyObject {
    func checkMappings() throws
}

/// An iterator that checks its source's mappings after every batch.
final class CheckedIterator: BatchIterator {
    let inner: any BatchIterator
    let source: any MappedReads

    init(_ inner: any BatchIterator, source: any MappedReads) {
        self.inner = inner
        self.source = source
    }

    func next() throws -> Batch? {
        let batch = try inner.next()
        try source.checkMappings()
        return batch
    }

    var statistics: EpochStatistics? { inner.statistics }
}
