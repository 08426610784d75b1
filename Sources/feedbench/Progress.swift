import Foundation

/// A progress line on stderr, drawn only when stderr is a terminal, at most ten times a second.
final class ProgressLine {
    private let label: String
    private let total: Int
    private let enabled = isatty(STDERR_FILENO) != 0
    private var lastDraw = Date.distantPast

    init(_ label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    func update(_ done: Int) {
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
        lastDraw = Date()
        let fraction = Double(done) / Double(total)
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(done)/\(total) (\(Int(fraction * 100))%)".utf8))
    }

    /// Shows a line of text (a status rather than a fraction).
    func show(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }
}
