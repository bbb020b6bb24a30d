import Foundation

/// The encoding of `MutableState` inside `WorkflowSnapshot.mutableState`:
/// `u8 format version (1) | JSON of MutableState` (keys by field name, so fields can be added
/// with defaults; byte arrays base64). Version 1 favours evolvability over compactness (the log
/// compresses it with LZ4); a denser binary version 2 can replace it without migrating data,
/// since the version byte picks the decoder.
enum MutableStateCodec {
    // Part of the on-disk format. Never change; add a new version instead.
    static let version1: UInt8 = 1

    static func encode(_ state: MutableState) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dataEncodingStrategy = .base64
        return [version1] + Array(try encoder.encode(state))
    }

    static func decode(_ bytes: [UInt8]) throws(HistoryError) -> MutableState {
        guard let version = bytes.first else { throw .internal("empty mutable state record") }
        guard version == version1 else { throw .internal("mutable state format version \(version) is not known to this build") }
        do {
            return try JSONDecoder().decode(MutableState.self, from: Data(bytes.dropFirst()))
        } catch {
            throw .internal("mutable state record does not decode: \(error)")
        }
    }
}
