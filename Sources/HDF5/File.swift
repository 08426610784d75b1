import CHDF5
import Foundation

/// An open HDF5 file. Closing happens exactly once: `close()` reports failure; otherwise
/// `deinit` closes. Groups and datasets keep their file open while they live.
public final class File {
    /// The path the file was opened or created with.
    public let path: String
    let handle: Handle

    private init(path: String, id: hid_t) {
        self.path = path
        self.handle = Handle(id, closer: H5Fclose)
    }

    /// Opens an existing file. Checks first that it exists and is HDF5, so the error says
    /// which of the two is wrong.
    public static func open(_ path: String, readOnly: Bool = true) throws -> File {
        HDF5Library.prepare()
        guard FileManager.default.fileExists(atPath: path) else {
            throw HDF5Error(file: path, operation: "open", message: "no such file")
        }
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            // A FIFO would block HDF5's open forever; a device or folder is not a file.
            let what = (info.st_mode & S_IFMT) == S_IFDIR ? "a folder" : (info.st_mode & S_IFMT) == S_IFIFO ? "a FIFO" : "not a regular file (a device?)"
            throw HDF5Error(file: path, operation: "open", message: "is \(what), not an HDF5 file")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw HDF5Error(file: path, operation: "open", message: "permission denied")
        }
        if H5Fis_hdf5(path) <= 0 {
            throw HDF5Error(file: path, operation: "open", message: "not an HDF5 file")
        }
        let flags = readOnly ? feedbench_H5F_ACC_RDONLY() : feedbench_H5F_ACC_RDWR()
        let id = H5Fopen(path, flags, feedbench_H5P_DEFAULT())
        guard id >= 0 else { throw HDF5Error(file: path, operation: "open") }
        return File(path: path, id: id)
    }

    /// Creates a file, replacing one that exists when `overwrite` is true.
    public static func create(_ path: String, overwrite: Bool = true) throws -> File {
        HDF5Library.prepare()
        let flags = overwrite ? feedbench_H5F_ACC_TRUNC() : feedbench_H5F_ACC_EXCL()
        let id = H5Fcreate(path, flags, feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT())
        guard id >= 0 else { throw HDF5Error(file: path, operation: "create") }
        return File(path: path, id: id)
    }

    /// Flushes and closes the file; later calls do nothing.
    public func close() throws {
        try handle.close { HDF5Error(file: path, operation: "close") }
    }

    /// The root group `/`.
    public var root: Group { Group(file: self, path: "/", handle: nil) }
}
