import Graph
import HDF5
import LMDB

/// An error a user can act on: its description is one line naming the file, key or option
/// and what is wrong. Every library's error conforms, so a command needs one `catch`.
public protocol FeedBenchError: Error, CustomStringConvertible {}

extension HDF5Error: FeedBenchError {}
extension LMDBError: FeedBenchError {}
extension GraphError: FeedBenchError {}
extension LabelError: FeedBenchError {}
extension QuantizerError: FeedBenchError {}
