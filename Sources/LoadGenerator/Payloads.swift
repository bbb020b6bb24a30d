import Foundation
import TemporalAPI

/// The generator's payloads are single JSON strings (`json/plain`), like the SDKs' default converter.
enum Payloads {
    static let encodingKey = "encoding"
    static let jsonEncoding = "json/plain"

    static func payload(_ text: String) -> Temporal_Api_Common_V1_Payload {
        var payload = Temporal_Api_Common_V1_Payload()
        payload.metadata = [encodingKey: Data(jsonEncoding.utf8)]
        payload.data = jsonString(text)
        return payload
    }

    static func payloads(_ text: String) -> Temporal_Api_Common_V1_Payloads {
        var payloads = Temporal_Api_Common_V1_Payloads()
        payloads.payloads = [payload(text)]
        return payloads
    }

    /// The string in a single `json/plain` string payload; nil for anything else.
    static func string(from payloads: Temporal_Api_Common_V1_Payloads) -> String? {
        guard payloads.payloads.count == 1 else { return nil }
        return string(from: payloads.payloads[0])
    }

    static func string(from payload: Temporal_Api_Common_V1_Payload) -> String? {
        guard payload.metadata[encodingKey] == Data(jsonEncoding.utf8) else { return nil }
        let value = try? JSONSerialization.jsonObject(with: payload.data, options: [.fragmentsAllowed])
        return value as? String
    }

    private static func jsonString(_ text: String) -> Data {
        // A String is always valid JSON input, so this cannot fail.
        (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed])) ?? Data("\"\"".utf8)
    }
}
