/// Kubernetes and OCI name rules, with the messages the API machinery prints.
enum KubernetesNames {
    static let dns1123LabelMessage =
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

    private static func isLowerAlnum(_ c: Character) -> Bool {
        c.isASCII && (c.isLowercase || c.isNumber)
    }

    private static func isLabel(_ s: Substring) -> Bool {
        guard let first = s.first, let last = s.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        return s.allSatisfy { isLowerAlnum($0) || $0 == "-" }
    }

    /// The problems `IsDNS1123Label` reports, empty when valid.
    static func dns1123LabelErrors(_ s: String) -> [String] {
        var errors: [String] = []
        if s.count > 63 { errors.append("must be no more than 63 characters") }
        if !isLabel(Substring(s)) { errors.append(dns1123LabelMessage) }
        return errors
    }

    /// The problems `IsDNS1123Subdomain` reports, empty when valid.
    static func dns1123SubdomainErrors(_ s: String) -> [String] {
        var errors: [String] = []
        if s.count > 253 { errors.append("must be no more than 253 characters") }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        if parts.isEmpty || !parts.allSatisfy(isLabel) { errors.append(dns1123SubdomainMessage) }
        return errors
    }
}

/// Parses container image references as `distribution/reference.ParseNormalizedNamed` does.
enum ImageReference {
    /// `nil` when valid, else the error text of the reference library.
    static func error(in reference: String) -> String? {
        guard !reference.isEmpty else { return "repository name must have at least one component" }
        // Split the domain as splitDockerDomain does.
        var domain = "docker.io"
        var remainder = Substring(reference)
        if let slash = reference.firstIndex(of: "/") {
            let head = reference[..<slash]
            if head.contains(".") || head.contains(":") || head == "localhost" || head.lowercased() != head {
                domain = String(head)
                remainder = reference[reference.index(after: slash)...]
            }
        }
        let remoteName = remainder.split(separator: ":", maxSplits: 1).first.map(String.init) ?? String(remainder)
        let nameOnly = remoteName.split(separator: "@", maxSplits: 1).first.map(String.init) ?? remoteName
        if nameOnly.lowercased() != nameOnly {
            return "invalid reference format: repository name (\(nameOnly)) must be lowercase"
        }
        return parse(domain: domain, remainder: remainder) ? nil : "invalid reference format"
    }

    /// The reference as `reference.ParseDockerRef` normalises it.
    ///
    /// `docker.io` for a reference without a registry (`index.docker.io` too), `library/` before a one-component Docker Hub name, the tag dropped beside a digest,
    /// `:latest` when there is neither. An invalid reference comes back unchanged, as `renderPullerSH` and
    /// `renderPusherSH` (`pkg/workspace/image/puller.go`, `pusher.go`, v0.4.5 to v0.12.0) keep it after logging.
    static func normalized(_ reference: String) -> String {
        guard error(in: reference) == nil else { return reference }
        var name = Substring(reference)
        var digest: Substring?
        if let at = name.firstIndex(of: "@") {
            digest = name[at...]
            name = name[..<at]
        }
        var tag: Substring?
        if let colon = name.lastIndex(of: ":"), name[colon...].firstIndex(of: "/") == nil {
            tag = name[colon...]
            name = name[..<colon]
        }
        var domain = "docker.io"
        var remainder = name
        if let slash = name.firstIndex(of: "/") {
            let head = name[..<slash]
            if head.contains(".") || head.contains(":") || head == "localhost" || head.lowercased() != head {
                domain = String(head)
                remainder = name[name.index(after: slash)...]
            }
        }
        if domain == "index.docker.io" { domain = "docker.io" }
        let path = domain == "docker.io" && !remainder.contains("/") ? "library/\(remainder)" : String(remainder)
        if let digest { return "\(domain)/\(path)\(digest)" }
        return "\(domain)/\(path)\(tag ?? ":latest")"
    }

    private static func parse(domain: String, remainder: Substring) -> Bool {
        guard isDomain(domain) else { return false }
        var rest = remainder
        var digest: Substring?
        if let at = rest.firstIndex(of: "@") {
            digest = rest[rest.index(after: at)...]
            rest = rest[..<at]
        }
        var tag: Substring?
        if let colon = rest.lastIndex(of: ":") {
            tag = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
        }
        let components = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty, components.allSatisfy(isPathComponent) else { return false }
        guard domain.count + 1 + rest.count <= 255 else { return false }
        if let tag, !isTag(tag) { return false }
        if let digest, !isDigest(digest) { return false }
        return true
    }

    private static func isAlnumLower(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }

    private static func isPathComponent(_ s: Substring) -> Bool {
        // alpha-numeric (separator alpha-numeric)*, separator = [_.] | __ | -+
        let chars = Array(s)
        guard let first = chars.first, let last = chars.last, isAlnumLower(first), isAlnumLower(last) else {
            return false
        }
        var i = 0
        while i < chars.count {
            if isAlnumLower(chars[i]) {
                i += 1
                continue
            }
            var j = i
            while j < chars.count, !isAlnumLower(chars[j]) { j += 1 }
            let separator = String(chars[i..<j])
            let valid = separator == "." || separator == "_" || separator == "__" || separator.allSatisfy { $0 == "-" }
            guard valid else { return false }
            i = j
        }
        return true
    }

    private static func isDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if let colon = domain.lastIndex(of: ":"), !domain.hasSuffix("]") {
            let port = domain[domain.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            host = domain[..<colon]
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { return host.count > 2 }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return !parts.isEmpty
            && parts.allSatisfy { part in
                guard let f = part.first, let l = part.last, f.isASCII, l.isASCII, f.isLetter || f.isNumber,
                    l.isLetter || l.isNumber
                else { return false }
                return part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
    }

    private static func isTag(_ s: Substring) -> Bool {
        guard let first = s.first, s.count <= 128 else { return false }
        let word: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        return word(first) && s.allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    private static func isDigest(_ s: Substring) -> Bool {
        let parts = s.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].count >= 32 else { return false }
        return parts[1].allSatisfy(\.isHexDigit)
    }
}

/// The URL safety checks of rule T13.
enum DataSourceURL {
    /// `nil` when acceptable, else the rule's message.
    static func error(in text: String) -> String? {
        guard let schemeEnd = text.firstRange(of: "://") else { return "invalid data source URL" }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." })
        else { return "invalid data source URL" }
        guard scheme == "http" || scheme == "https" else { return "data source URL must use HTTP or HTTPS" }
        var authority = text[schemeEnd.upperBound...]
        if let end = authority.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
            authority = authority[..<end]
        }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        guard !host.isEmpty, !host.contains(" ") else { return "invalid data source URL" }
        let lower = host.lowercased()
        let metadataHosts = ["localhost", "metadata.google.internal", "metadata.google", "instance-data.ec2.internal"]
        if metadataHosts.contains(lower) || lower.hasSuffix(".localhost") {
            return "data source URL must not target a local or metadata endpoint"
        }
        if isPrivateIPv4(lower) || isPrivateIPv6(lower) {
            return "data source URL must not target a loopback, private, or link-local address"
        }
        return nil
    }

    private static func isPrivateIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 4, parts.allSatisfy({ ($0 ?? -1) >= 0 && ($0 ?? 256) <= 255 }) else { return false }
        let a = parts[0] ?? 0
        let b = parts[1] ?? 0
        return a == 127 || a == 10 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
            || (a == 169 && b == 254) || a == 0
    }

    private static func isPrivateIPv6(_ host: String) -> Bool {
        guard host.contains(":") else { return false }
        if host == "::1" || host == "::" { return true }
        if host.hasPrefix("fe8") || host.hasPrefix("fe9") || host.hasPrefix("fea") || host.hasPrefix("feb") {
            return true
        }
        if host.hasPrefix("fc") || host.hasPrefix("fd") { return true }
        if host.hasPrefix("::ffff:") { return isPrivateIPv4(String(host.dropFirst(7))) }
        return false
    }
}
