import Foundation

extension Environment {
    /// Advice to the kernel about how this process will touch the environment's map.
    public enum Advice: Sendable {
        /// Reads in key order: read ahead aggressively (`MADV_SEQUENTIAL`).
        case sequential
        /// The kernel's default read-around (`MADV_NORMAL`).
        case normal
        /// No read-ahead (`MADV_RANDOM`, what `MDB_NORDAHEAD` does at open).
        case random
        /// Drop this process's pages of the map now (`MADV_DONTNEED`); they come back from
        /// the file on the next touch, so the kernel may then evict them.
        case dropPages

        var flag: Int32 {
            switch self {
            case .sequential: return MADV_SEQUENTIAL
            case .normal: return MADV_NORMAL
            case .random: return MADV_RANDOM
            case .dropPages: return MADV_DONTNEED
            }
        }
    }

    /// Gives `advice` for the whole map of `data.mdb` in this process. LMDB fixes
    /// `MDB_NORDAHEAD` when an environment opens, and one environment must not be opened
    /// twice in a process, so read-ahead is chosen per epoch this way instead.
    /// Returns false when the map could not be found.
    @discardableResult
    public func advise(_ advice: Advice) -> Bool {
        guard let map = dataMap else { return false }
        return madvise(map.base, map.length, advice.flag) == 0
    }

    /// Where this process maps `data.mdb`, from /proc/self/maps. LMDB does not say where its
    /// map is (`mdb_env_info`'s address is the one stored in the file, for `MDB_FIXEDMAP`).
    public var dataMap: (base: UnsafeMutableRawPointer, length: Int)? {
        let file = (path as NSString).appendingPathComponent("data.mdb")
        var info = stat()
        guard stat(file, &info) == 0 else { return nil }
        // Read to the end with read(2): /proc files report a size of 0, and a reader that
        // trusts the size can stop early, missing the entry in a process with many mappings.
        // The kernel builds the text page by page, so an entry can also move between reads:
        // read again before saying there is no map.
        for _ in 0..<3 {
            guard let maps = Self.readProcFile("/proc/self/maps") else { continue }
            for line in maps.split(separator: "\n") {
                // start-end perms offset dev inode path
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 6, UInt64(fields[4]) == UInt64(info.st_ino) else { continue }
                let range = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
                guard range.count == 2, range[1] > range[0], let base = UnsafeMutableRawPointer(bitPattern: range[0]) else { continue }
                return (base, Int(range[1] - range[0]))
            }
        }
        return nil
    }

    /// The whole text of a /proc file, read in blocks until read(2) returns 0.
    static func readProcFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = block.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return n == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
            bytes += block[0..<n]
        }
    }
}
