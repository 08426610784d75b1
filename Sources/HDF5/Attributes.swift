import CHDF5

/// Attribute reads and writes shared by groups and datasets.
enum Attributes {
    static func write(on id: hid_t, name: String, string value: String, file: String, object: String) throws {
        HDF5Library.prepare()
        if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
        let type = Handle(H5Tcopy(feedbench_H5T_C_S1()), closer: H5Tclose)
        let bytes = Array(value.utf8)
        H5Tset_size(type.id, max(1, bytes.count))
        H5Tset_cset(type.id, H5T_CSET_UTF8)
        let space = Handle(H5Screate(H5S_SCALAR), closer: H5Sclose)
        let aid = H5Acreate2(id, name, type.id, space.id, feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT())
        guard aid >= 0 else { throw HDF5Error(file: file, object: object, operation: "create attribute '\(name)'") }
        let attribute = Handle(aid, closer: H5Aclose)
        let padded = bytes.isEmpty ? [UInt8(0)] : bytes
        guard H5Awrite(attribute.id, type.id, padded) >= 0 else {
            throw HDF5Error(file: file, object: object, operation: "write attribute '\(name)'")
        }
    }

    static func write(on id: hid_t, name: String, integer value: Int, file: String, object: String) throws {
        HDF5Library.prepare()
        if H5Aexists(id, name) > 0 { H5Adelete(id, name) }
        let space = Handle(H5Screate(H5S_SCALAR), closer: H5Sclose)
        let aid = H5Acreate2(id, name, feedbench_H5T_NATIVE_INT64(), space.id, feedbench_H5P_DEFAULT(), feedbench_H5P_DEFAULT())
        guard aid >= 0 else { throw HDF5Error(file: file, object: object, operation: "create attribute '\(name)'") }
        let attribute = Handle(aid, closer: H5Aclose)
        var v = Int64(value)
        guard H5Awrite(attribute.id, feedbench_H5T_NATIVE_INT64(), &v) >= 0 else {
            throw HDF5Error(file: file, object: object, operation: "write attribute '\(name)'")
        }
    }

    static func readString(from id: hid_t, name: String, file: String, object: String) throws -> String? {
        HDF5Library.prepare()
        guard H5Aexists(id, name) > 0 else { return nil }
        let attribute = Handle(H5Aopen(id, name, feedbench_H5P_DEFAULT()), closer: H5Aclose)
        guard attribute.id >= 0 else { throw HDF5Error(file: file, object: object, operation: "open attribute '\(name)'") }
        let type = Handle(H5Aget_type(attribute.id), closer: H5Tclose)
        guard H5Tget_class(type.id) == H5T_STRING else {
            throw HDF5Error(file: file, object: object, operation: "read attribute '\(name)'", message: "not a string")
        }
        if H5Tis_variable_str(type.id) > 0 {
            // h5py writes variable-length strings by default.
            let memory = Handle(H5Tcopy(feedbench_H5T_C_S1()), closer: H5Tclose)
            H5Tset_size(memory.id, Int(bitPattern: UInt(bitPattern: -1)))  // H5T_VARIABLE
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attribute.id, memory.id, &pointer) >= 0 else {
                throw HDF5Error(file: file, object: object, operation: "read attribute '\(name)'")
            }
            defer { free(pointer) }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(type.id)
        var buffer = [UInt8](repeating: 0, count: size + 1)
        guard H5Aread(attribute.id, type.id, &buffer) >= 0 else {
            throw HDF5Error(file: file, object: object, operation: "read attribute '\(name)'")
        }
        let end = buffer.firstIndex(of: 0) ?? size
        return String(decoding: buffer[..<end], as: UTF8.self)
    }

    static func readInteger(from id: hid_t, name: String, file: String, object: String) throws -> Int? {
        HDF5Library.prepare()
        guard H5Aexists(id, name) > 0 else { return nil }
        let attribute = Handle(H5Aopen(id, name, feedbench_H5P_DEFAULT()), closer: H5Aclose)
        guard attribute.id >= 0 else { throw HDF5Error(file: file, object: object, operation: "open attribute '\(name)'") }
        var value: Int64 = 0
        guard H5Aread(attribute.id, feedbench_H5T_NATIVE_INT64(), &value) >= 0 else {
            throw HDF5Error(file: file, object: object, operation: "read attribute '\(name)' as an integer")
        }
        return Int(value)
    }
}

#if canImport(Glibc)
import Glibc
#endif
