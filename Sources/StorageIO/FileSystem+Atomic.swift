/// Small whole-file helpers shared by the storage layers' metadata files (manifest, holes).
extension FileSystem {
    /// Replaces `directory/name` with `bytes` durably and atomically: write `temporaryName`,
    /// fsync it, rename it over `name`, fsync the directory. A crash leaves either the old file
    /// or the new one (and perhaps a stale temporary, removed by the next call).
    public func replaceAtomically(directory: String, name: String, temporaryName: String, bytes: [UInt8]) throws {
        let temporary = joinPath(directory, temporaryName)
        if fileExists(temporary) { try removeFile(temporary) }
        let handle = try open(temporary, .createNew)
        do {
            try handle.writeAll(bytes, at: 0)
            try handle.sync()
            handle.close()
        } catch {
            handle.close()
            throw error
        }
        try rename(temporary, to: joinPath(directory, name))
        try syncDirectory(directory)
    }

    /// The whole contents of `path`, or nil when there is no such file.
    public func readWholeFile(_ path: String) throws -> [UInt8]? {
        guard fileExists(path) else { return nil }
        let handle = try open(path, .readOnly)
        defer { handle.close() }
        return try handle.read(count: Int(try handle.size()), at: 0)
    }
}
