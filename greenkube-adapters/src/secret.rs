//! Secrets, kept out of every output in one place: store and source URLs are shown through
//! [`redact_url`] (passwords and tokens masked), and tokens and API keys are held as [`Secret`],
//! whose `Debug` and `Display` print `***`. Errors of the HTTP sources also mask whatever a
//! server echoes back of them (`sources::http`).

use std::fmt;
use std::str::FromStr;

/// A token, password or API key: printed as `***` by `Debug` and `Display`, so a struct that
/// holds one can derive `Debug` safely; [`Secret::expose`] gives the value to what sends it.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the request that sends it; never for output.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty (after trimming).
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Query parameters whose values are secrets (compared without case): database passwords and
/// the usual names of API tokens and keys.
const SECRET_PARAMETERS: [&str; 11] = [
    "password",
    "sslpassword",
    "token",
    "auth-token",
    "auth_token",
    "access_token",
    "api_key",
    "api-key",
    "apikey",
    "key",
    "secret",
];

/// The URL with its secrets replaced by `***`: the password of the user info
/// (`user:password@`) and the values of secret query parameters (`password`, `sslpassword`,
/// `token`, `auth-token`, `api_key`, `key`, ...). Anything else is kept, so the URL still says
/// where.
pub fn redact_url(url: &str) -> String {
    let shown = redact_text(url);
    // The clients read URLs with the WHATWG grammar (the `url` crate), which is lenient
    // (`https:///user:pw@host`, tabs and newlines dropped, `\` as `/`), some of them after
    // trimming white space (the Elasticsearch store: a trailing no-break space makes the
    // untrimmed text invalid): when either reading finds a password that the textual reading
    // above left visible, show only its host and port.
    for candidate in [url, url.trim()] {
        if let Ok(parsed) = ::url::Url::parse(candidate)
            && let Some(password) = parsed.password().filter(|p| !p.is_empty())
        {
            let decoded = percent_encoding_free(password);
            let visible = |p: &str| shown.contains(&format!(":{p}@"));
            if visible(password) || visible(&decoded) {
                let host = parsed.host_str().unwrap_or("");
                let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
                return format!("{}://***@{host}{port}", parsed.scheme());
            }
        }
    }
    shown
}

/// `%XX` sequences decoded (lossy), for comparing a password as written and as sent.
fn percent_encoding_free(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(&h), Some(&l)) = (bytes.get(i + 1), bytes.get(i + 2))
            && let (Some(h), Some(l)) = (hex(h), hex(l))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The textual redaction: the user info's password and secret query parameters.
fn redact_text(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL with an authority (`sqlite::memory:`, a typo): whatever precedes an `@` may
        // be credentials.
        return url
            .rsplit_once('@')
            .map_or_else(|| url.to_owned(), |(_, host)| format!("***@{host}"));
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let tail = redact_query(tail);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            let masked = if user_info.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => format!("{scheme}://{authority}{tail}"),
    }
}

/// An optional URL as [`redact_url`] shows it, for `Debug` implementations.
pub fn redact_opt(url: Option<&String>) -> Option<String> {
    url.map(|u| redact_url(u))
}

/// `path?query#fragment` with the values of secret parameters masked.
fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _))
                if SECRET_PARAMETERS
                    .iter()
                    .any(|secret| key.eq_ignore_ascii_case(secret)) =>
            {
                format!("{key}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{path}?{}", pairs.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://greenkube:s3cret@db:5432/gk?sslmode=require"),
            "postgres://greenkube:***@db:5432/gk?sslmode=require"
        );
        assert_eq!(redact_url("postgres://db/gk"), "postgres://db/gk");
        assert_eq!(
            redact_url("postgresql://db/gk?user=gk&password=s3cret&sslmode=require#x"),
            "postgresql://db/gk?user=gk&password=***&sslmode=require#x"
        );
        assert_eq!(
            redact_url("postgres://u:p@db?PASSWORD=a&sslpassword=b"),
            "postgres://u:***@db?PASSWORD=***&sslpassword=***"
        );
        assert_eq!(
            redact_url("https://elastic@es:9200"),
            "https://elastic@es:9200"
        );
        assert_eq!(redact_url("sqlite://greenkube.db"), "sqlite://greenkube.db");
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(redact_url("not a url user:secret@host"), "***@host");
        // Read as the clients read it (an empty authority skipped): the password is hidden.
        let lenient = "https:///elastic:changem@e@es:8400/x";
        assert!(
            !redact_url(lenient).contains("changem"),
            "{}",
            redact_url(lenient)
        );
        // Invalid as written (a no-break space in the host) but valid once trimmed, as the
        // Elasticsearch store reads it (found by the fuzzer).
        let trimmed = "https:///elastib:chagne@e@mes:8s:gem@e@0=gk\u{1}\0\0\0\u{a0}\n\n";
        let shown = redact_url(trimmed);
        assert!(!shown.contains(":chagne@"), "{shown}");
        #[cfg(feature = "elasticsearch")]
        {
            let config = crate::store::elasticsearch::ElasticsearchConfig::from_url(trimmed);
            let password = config.ok().and_then(|c| c.password);
            assert!(password.is_some(), "the store reads a password");
            assert!(
                !shown.contains(&format!(":{}@", password.unwrap_or_default())),
                "{shown}"
            );
        }
        assert_eq!(
            redact_url("http://user:secret@prom.example:9090/"),
            "http://user:***@prom.example:9090/"
        );
    }

    #[test]
    fn tokens_in_queries_are_redacted() {
        assert_eq!(
            redact_url("https://api.example/v3/?auth-token=t1&zone=FR&API_KEY=k&x=1"),
            "https://api.example/v3/?auth-token=***&zone=FR&API_KEY=***&x=1"
        );
    }

    #[test]
    fn a_secret_prints_as_stars() {
        let secret: Secret = "PLANTED".parse().unwrap();
        assert_eq!(format!("{secret} {secret:?}"), "*** \"***\"");
        assert_eq!(secret.expose(), "PLANTED");
        let json: Secret = serde_json::from_str("\"PLANTED\"").unwrap();
        assert_eq!(json, secret);
    }
}
