import Foundation

/// A whole file mapped read-only; unmapped exactly once, in `deinit`.
///
/// The bytes stay valid while the mapping lives. Pages come from the page cache on first
/// touch, so a cold read costs page faults with the kernel's read-around.
final class FileMapping {
    let base: UnsafeRawPointer
    let length: Int

    init(path: String, context: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DataSourceError(context, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DataSourceError(context, "cannot stat: \(String(cString: strerror(errno)))") }
        length = max(Int(info.st_size), 1)
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw DataSourceError(context, "cannot map: \(String(cString: strerror(errno)))") }
        base = UnsafeRawPointer(p)
    }

    /// Unmaps this process's pages of the file (they come back on the next touch), so that
    /// the kernel can evict them.
    func dropPages() { madvise(UnsafeMutableRawPointer(mutating: base), length, MADV_DONTNEED) }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), length) }
}
