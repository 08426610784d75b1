import Foundation

/// Checks an environment's `data.mdb` before liblmdb maps it: liblmdb trusts its meta pages
/// and may crash on a zeroed or truncated file. Both meta pages must carry LMDB's magic and
/// version, and the newer one's last page must lie inside the file.
enum DataFileCheck {
    static let magic: UInt32 = 0xBEEF_C0DE
    static let headerSize = 16  // MDB_page header on 64-bit
    static let minimumPageSize = 512

    /// The page size and the file's size, or an error saying what is wrong.
    static func validate(folder: String) throws {
        let data = (folder as NSString).appendingPathComponent("data.mdb")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw LMDBError(path: folder, operation: "open", message: "no such folder")
        }
        guard isDirectory.boolValue else {
            throw LMDBError(path: folder, operation: "open", message: "not a folder (an LMDB environment is a folder holding data.mdb)")
        }
        var info = stat()
        if stat(data, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            // A FIFO would block the open forever.
            throw LMDBError(path: folder, operation: "open", message: "data.mdb is not a regular file (a FIFO or device?)")
        }
        guard let handle = FileHandle(forReadingAtPath: data) else {
            throw LMDBError(path: folder, operation: "open", message: "no data.mdb: not an LMDB environment")
        }
        defer { try? handle.close() }
        let size = Int((try? handle.seekToEnd()) ?? 0)
        try? handle.seek(toOffset: 0)
        let head = (try? handle.read(upToCount: 2 * 65_536)) ?? Data()
        func u32(_ offset: Int) -> UInt32 {
            guard offset + 4 <= head.count else { return 0 }
            return head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        }
        func u64(_ offset: Int) -> UInt64 {
            guard offset + 8 <= head.count else { return 0 }
            return head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        }
        guard size >= 2 * minimumPageSize, u32(headerSize) == magic else {
            throw LMDBError(path: folder, operation: "open", message: "data.mdb is not an LMDB data file (no LMDB meta page; empty, zeroed or foreign)")
        }
        guard u32(headerSize + 4) == 1 else {
            throw LMDBError(path: folder, operation: "open", message: "data.mdb has LMDB format version \(u32(headerSize + 4)), expected 1")
        }
        let pageSize = Int(u32(headerSize + 24))
        guard pageSize >= minimumPageSize, pageSize <= 65_536, pageSize & (pageSize - 1) == 0, size >= 2 * pageSize else {
            throw LMDBError(path: folder, operation: "open", message: "data.mdb has a damaged meta page (page size \(pageSize))")
        }
        guard u32(pageSize + headerSize) == magic else {
            throw LMDBError(path: folder, operation: "open", message: "data.mdb has a damaged second meta page")
        }
        let metas = [0, pageSize].map { (lastPage: u64($0 + headerSize + 120), txn: u64($0 + headerSize + 128)) }
        let newest = metas[0].txn >= metas[1].txn ? metas[0] : metas[1]
        let needed = (Int(clamping: newest.lastPage) + 1) * pageSize
        guard newest.lastPage < UInt64(Int.max / pageSize), needed <= size else {
            throw LMDBError(path: folder, operation: "open",
                            message: "data.mdb is truncated: its meta page needs \(needed) bytes, the file has \(size)")
        }
    }
}
