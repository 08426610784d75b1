import Foundation

/// The kernel's page cache for a set of files: evicting them before a cold epoch, and
/// measuring how much of them is resident (never assume eviction worked).
public enum PageCache {
    /// Asks the kernel to drop the files' cached pages (`POSIX_FADV_DONTNEED`). Pages that
    /// some process still maps stay resident, so close every source reading them first.
    public static func evict(_ paths: [String]) {
        for path in paths {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { continue }
            fdatasync(fd)
            posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
            close(fd)
        }
    }

    /// Reads the files once, so that the page cache holds them (for a warm epoch after something
    /// else evicted them).
    public static func warm(_ paths: [String]) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        for path in paths {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { continue }
            while read(fd, buffer, 1 << 20) > 0 {}
            close(fd)
        }
    }

    /// The fraction (0…1) of the files' pages resident in memory, weighted by size (`mincore`).
    public static func residency(_ paths: [String]) -> Double {
        var resident = 0, total = 0
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        for path in paths {
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_size > 0 else { continue }
            let size = Int(info.st_size)
            guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { continue }
            defer { munmap(map, size) }
            let pages = (size + page - 1) / page
            var vector = [UInt8](repeating: 0, count: pages)
            guard mincore(map, size, &vector) == 0 else { continue }
            resident += vector.reduce(0) { $0 + Int($1 & 1) }
            total += pages
        }
        return total == 0 ? 0 : Double(resident) / Double(total)
    }
}
