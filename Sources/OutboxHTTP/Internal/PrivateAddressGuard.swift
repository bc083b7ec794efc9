import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decides whether an IP address is public, and vets curl's connections with it.
///
/// libcurl calls ``openSocket`` for every connection it makes (after DNS resolution, for
/// redirects and reconnects too), so a host name that resolves to an internal address is
/// refused at the moment it would be used, not only when it was configured.
enum PrivateAddressGuard {
    /// Why an address is not public, or `nil` when it is.
    static func nonPublicReason(_ bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return nonPublicReasonIPv4(bytes[0], bytes[1], bytes[2], bytes[3]) }
        guard bytes.count == 16 else { return "not an IP address" }
        if bytes.allSatisfy({ $0 == 0 }) { return "the unspecified address" }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return "loopback" }
        // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d
        if bytes[0..<10].allSatisfy({ $0 == 0 })
            && ((bytes[10] == 0xff && bytes[11] == 0xff) || (bytes[10] == 0 && bytes[11] == 0))
        {
            return nonPublicReasonIPv4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
        // NAT64 64:ff9b::/96 embeds an IPv4 address
        if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b
            && bytes[4..<12].allSatisfy({ $0 == 0 })
        {
            return nonPublicReasonIPv4(bytes[12], bytes[13], bytes[14], bytes[15])
        }
        // Local-use IPv4/IPv6 translation 64:ff9b:1::/48 (RFC 8215): any IPv4 behind it
        if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b && bytes[4] == 0x00
            && bytes[5] == 0x01
        {
            return "local-use IPv4/IPv6 translation 64:ff9b:1::/48"
        }
        // Discard-only 100::/64 (RFC 6666)
        if bytes[0] == 0x01 && bytes[1] == 0x00 && bytes[2..<8].allSatisfy({ $0 == 0 }) {
            return "discard-only 100::/64"
        }
        // Tunnels that reach IPv4 networks this guard cannot see: 6to4 2002::/16 and Teredo 2001::/32
        if bytes[0] == 0x20 && bytes[1] == 0x02 { return "6to4 2002::/16" }
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x00 && bytes[3] == 0x00 { return "Teredo 2001::/32" }
        // IETF protocol assignments inside 2001::/23: benchmarking 2001:2::/48, ORCHID 2001:10::/28,
        // ORCHIDv2 2001:20::/28
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x00 {
            if bytes[3] == 0x02 && bytes[4] == 0x00 && bytes[5] == 0x00 { return "benchmarking 2001:2::/48" }
            if bytes[3] & 0xf0 == 0x10 || bytes[3] & 0xf0 == 0x20 { return "ORCHID" }
        }
        // Documentation 3fff::/20 (RFC 9637) and SRv6 SIDs 5f00::/16 (RFC 9602)
        if bytes[0] == 0x3f && bytes[1] & 0xf0 == 0xf0 { return "documentation" }
        if bytes[0] == 0x5f && bytes[1] == 0x00 { return "SRv6 segment identifiers 5f00::/16" }
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return "link-local" }
        if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return "site-local" }
        if bytes[0] & 0xfe == 0xfc { return "private (unique local)" }
        if bytes[0] == 0xff { return "multicast" }
        if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return "documentation" }
        return nil
    }

    private static func nonPublicReasonIPv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> String? {
        switch (a, b) {
        case (0, _): return "the unspecified network 0.0.0.0/8"
        case (10, _): return "private"
        case (100, 64...127): return "shared address space (CGNAT)"
        case (127, _): return "loopback"
        case (169, 254): return "link-local"
        case (172, 16...31): return "private"
        case (192, 168): return "private"
        case (192, 0) where c == 0: return "IETF protocol assignments"
        case (192, 88) where c == 99: return "6to4 relay anycast 192.88.99.0/24"
        case (192, 0) where c == 2, (198, 51) where c == 100, (203, 0) where c == 113: return "documentation"
        case (198, 18...19): return "benchmarking"
        case (224...239, _): return "multicast"
        case (240...255, _): return "reserved"
        default: return nil
        }
    }

    /// A printable form of the address bytes.
    static func text(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }

    /// Parses an address literal (`127.0.0.1`, `::1`), or `nil` for a host name.
    static func literal(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// Resolves a host (blocking: call it on the transport's own thread).
    /// Returns the addresses, or `nil` when resolution failed.
    static func resolve(_ host: String, port: Int) -> [[UInt8]]? {
        if let literal = literal(host) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var result: [[UInt8]] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                if entry.pointee.ai_family == AF_INET {
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        var raw = v4.pointee.sin_addr
                        result.append(withUnsafeBytes(of: &raw) { Array($0) })
                    }
                } else if entry.pointee.ai_family == AF_INET6 {
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        var raw = v6.pointee.sin6_addr
                        result.append(withUnsafeBytes(of: &raw) { Array($0) })
                    }
                }
            }
            cursor = entry.pointee.ai_next
        }
        return result
    }

    /// The `CURLOPT_OPENSOCKETFUNCTION` callback. `clientp` is the transfer's
    /// ``CurlTransfer``; a refused address is recorded there and curl gets `CURL_SOCKET_BAD`.
    static let openSocket: curl_opensocket_callback = { clientp, purpose, address in
        guard let clientp, let address else { return CURL_SOCKET_BAD }
        var bytes = [UInt8](repeating: 0, count: 16)
        let count = Int(ccurl_sockaddr_ip(address, &bytes))
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(clientp).takeUnretainedValue()
        guard count == 4 || count == 16 else {
            transfer.refusedAddress = "a non-IP socket"
            return CURL_SOCKET_BAD
        }
        let ip = Array(bytes.prefix(count))
        if let reason = nonPublicReason(ip) {
            transfer.refusedAddress = "\(text(ip)) (\(reason))"
            return CURL_SOCKET_BAD
        }
        return ccurl_open_socket(address)
    }
}
