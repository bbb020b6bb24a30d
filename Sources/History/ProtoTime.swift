import SwiftProtobuf

/// Conversions between Unix nanoseconds and protobuf's Timestamp/Duration.
enum ProtoTime {
    static func timestamp(_ nanos: Int64) -> Google_Protobuf_Timestamp {
        Google_Protobuf_Timestamp(seconds: nanos / 1_000_000_000, nanos: Int32(nanos % 1_000_000_000))
    }

    static func duration(_ nanos: Int64) -> Google_Protobuf_Duration {
        Google_Protobuf_Duration(seconds: nanos / 1_000_000_000, nanos: Int32(nanos % 1_000_000_000))
    }

    static func nanos(_ d: Google_Protobuf_Duration) -> Int64 {
        let (product, overflow) = d.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow || d.seconds < 0 { return d.seconds < 0 ? 0 : Int64.max }
        return product &+ Int64(d.nanos)
    }

    static func nanos(_ t: Google_Protobuf_Timestamp) -> Int64 { t.seconds * 1_000_000_000 + Int64(t.nanos) }
}
