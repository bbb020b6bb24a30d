import Glibc

/// An environment variable's value, or nil.
public func environmentVariable(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// `Tests/Fixtures` of this repository, found from the calling test file's path
/// (`Tests/<Target>/<File>.swift`).
public func fixturesDirectory(testFile: String = #filePath) -> String {
    let parts = testFile.split(separator: "/", omittingEmptySubsequences: false)
    return parts.dropLast(2).joined(separator: "/") + "/Fixtures"
}

/// Whether golden fixtures should be rewritten (`ANNALS_WRITE_FIXTURES=1`, only for a new format version).
public var writeFixtures: Bool { environmentVariable("ANNALS_WRITE_FIXTURES") == "1" }
