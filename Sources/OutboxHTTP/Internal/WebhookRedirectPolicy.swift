/// Decides whether a 3xx answer is followed, when `follow_redirects` is on.
///
/// The transport follows redirects itself instead of with `CURLOPT_FOLLOWLOCATION`, because
/// libcurl sends the configured custom headers (API keys, tenant tokens) to whatever host a
/// redirect names and follows `https` to `http`. Here a redirect to another origin (scheme,
/// host or port) drops the custom headers, an `https` → `http` redirect is refused unless
/// ``allowsInsecure``, and each hop is checked again by the private-address guard when curl
/// connects.
struct WebhookRedirectPolicy: Sendable, Hashable {
    /// Most redirects followed for one request.
    var maximumRedirects: Int
    /// Whether an `https` URL may redirect to an `http` one.
    var allowsInsecure: Bool
    /// Whether only `https` URLs are allowed at all.
    var httpsOnly: Bool

    enum Decision: Sendable, Hashable {
        /// Send the request again to `url`; without the custom headers when `keepsCustomHeaders` is false.
        case follow(url: String, keepsCustomHeaders: Bool)
        /// Do not follow: a permanent failure with this reason.
        case refuse(String)
    }

    /// - Parameters:
    ///   - current: the URL that answered with the redirect.
    ///   - target: the absolute URL the redirect names (`CURLINFO_REDIRECT_URL`).
    ///   - followed: how many redirects this request followed already.
    func decide(from current: String, to target: String, followed: Int) -> Decision {
        guard followed < maximumRedirects else {
            return .refuse("too many redirects (more than \(maximumRedirects))")
        }
        guard let from = try? WebhookURL(current) else { return .refuse("redirected from an unparseable URL") }
        guard let to = try? WebhookURL(target) else {
            return .refuse("redirected to a URL that is not http(s) (\(WebhookURL.roughRedaction(target)))")
        }
        if !to.isHTTPS && httpsOnly {
            return .refuse("redirected to \(to.origin), but https_only is set")
        }
        if from.isHTTPS && !to.isHTTPS && !allowsInsecure {
            return .refuse(
                "redirected from https to \(to.origin); set allow_insecure_redirects to follow https → http redirects"
            )
        }
        return .follow(url: target, keepsCustomHeaders: from.origin == to.origin)
    }
}
