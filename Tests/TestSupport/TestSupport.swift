import Foundation

/// Helpers shared by the test targets.

/// The text of the error `body` throws, or "no error".
public func errorText(_ body: () throws -> Void) -> String {
    do {
        try body()
        return "no error"
    } catch {
        return String(describing: error)
    }
}

/// The repository's root folder.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A path inside the repository, such as `datasets/fixtures/list.txt`.
public func repositoryPath(_ relative: String) -> String { repositoryRoot.appendingPathComponent(relative).path }

/// A new, empty temporary folder.
public func makeTemporaryDirectory() -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("feedbench-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
