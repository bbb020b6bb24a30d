import Foundation

/// The encoding of `MutableState` inside `WorkflowSnapshot.mutableState`: a format version byte,
/// then the state. Writes use version 2 (tagged binary fields, `MutableStateCodec+V2.swift`);
/// reads take version 1 too (`u8 1 | JSON of MutableState`, keys by field name, byte arrays
/// base64), which earlier builds wrote, so data directories need no migration. Version 1 cost
/// a tenth of the server's CPU per commit; version 2 is a few microseconds and a third the size.
/// Layout: docs/format/mutable-state.md.
enum MutableStateCodec {
    // Part of the on-disk format. Never change; add a new version instead.
    static let version1: UInt8 = 1
    static let version2: UInt8 = 2

    static func encode(_ state: MutableState) throws -> [UInt8] {
        encodeV2(state)
    }

    static func decode(_ bytes: [UInt8]) throws(HistoryError) -> MutableState {
        guard let version = bytes.first else { throw .internal("empty mutable state record") }
        switch version {
        case version2:
            return try decodeV2(bytes)
        case version1:
            do {
                return try JSONDecoder().decode(MutableState.self, from: Data(bytes.dropFirst()))
            } catch {
                throw .internal("mutable state record does not decode: \(error)")
            }
        default:
            throw .internal("mutable state format version \(version) is not known to this build")
        }
    }
}
