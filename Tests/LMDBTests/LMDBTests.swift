import Foundation
import LMDB
import Testing

func temporaryFolder() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("feedbench-lmdb-\(UUID().uuidString)").path
    return dir
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct LMDBWrapperTests {
    @Test func writeReadAndWalkInKeyOrder() throws {
        let path = temporaryFolder()
        let env = try Environment.create(path)
        try env.put([(bytes("b"), [2, 2]), (bytes("a"), [1]), (bytes("c"), [3, 3, 3])])
        let reader = try Environment.openReadOnly(path)
        let txn = try reader.beginRead()
        #expect(try txn.withValue(forKey: bytes("c")) { $0.map(Array.init) } == [3, 3, 3])
        #expect(try txn.withValue(forKey: bytes("zz")) { $0 == nil })
        let cursor = try txn.cursor()
        var keys: [String] = []
        while let key = try cursor.next({ key, _ in String(decoding: key, as: UTF8.self) }) { keys.append(key) }
        #expect(keys == ["a", "b", "c"])
        let stats = try reader.statistics()
        #expect(stats.entries == 3)
        #expect(stats.pageSize >= 512)
        #expect(lmdbVersion.hasPrefix("LMDB 0.9"))
    }

    @Test func uncommittedWritesAreAbortedInDeinit() throws {
        let path = temporaryFolder()
        let env = try Environment.create(path)
        try env.put([(bytes("kept"), [1])])
        do {
            let txn = try env.beginWrite()
            try txn.put(key: bytes("dropped"), value: [9])
        }  // no commit: aborted here
        let reader = try env.beginRead()
        #expect(try reader.withValue(forKey: bytes("dropped")) { $0 == nil })
        #expect(try reader.withValue(forKey: bytes("kept")) { $0 != nil })
    }

    @Test func theMapGrowsAndTheWriteIsReplayed() throws {
        let path = temporaryFolder()
        let env = try Environment.create(path, mapSize: 64 * 1024)
        let records = (0..<64).map { (bytes(String(format: "%08d", $0)), [UInt8](repeating: UInt8($0), count: 4000)) }
        try env.put(records)
        #expect(env.mapSize > 64 * 1024)
        let txn = try env.beginRead()
        #expect(try txn.withValue(forKey: bytes("00000063")) { $0.map(Array.init) } == [UInt8](repeating: 63, count: 4000))
    }

    func openError(_ path: String) -> String {
        do {
            _ = try Environment.openReadOnly(path)
            return "no error"
        } catch {
            return String(describing: error)
        }
    }

    @Test func badEnvironmentsAreRefusedBeforeLMDBSeesThem() throws {
        #expect(openError("/nonexistent/env") == "/nonexistent/env: cannot open (no such folder)")
        let empty = temporaryFolder()
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(openError(empty) == "\(empty): cannot open (no data.mdb: not an LMDB environment)")
        let zeroed = temporaryFolder()
        try FileManager.default.createDirectory(atPath: zeroed, withIntermediateDirectories: true)
        try Data(count: 65_536).write(to: URL(fileURLWithPath: zeroed + "/data.mdb"))
        #expect(openError(zeroed).contains("data.mdb is not an LMDB data file"))
        // A real environment cut short after its meta pages.
        let cut = temporaryFolder()
        let env = try Environment.create(cut)
        try env.put((0..<200).map { (bytes(String(format: "%08d", $0)), [UInt8](repeating: 1, count: 3000)) })
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: cut + "/data.mdb"))
        try handle.truncate(atOffset: 3 * 4096)
        try handle.close()
        #expect(openError(cut).contains("data.mdb is truncated: its meta page needs"), "\(openError(cut))")
        let file = temporaryFolder()
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: file))
        #expect(openError(file).contains("not a folder"))
    }
}
