//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3).
//!
//! One forward pass over the bytes (each byte is looked at most twice), no
//! recursion and no regex: hostile headers parse in linear time and never
//! panic. Scheme and parameter names are lower-cased; quoted-string escapes
//! are decoded. Parsing stops at the first malformed part and returns the
//! challenges read so far.

/// One challenge: a scheme with a token68 or parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme, lower-cased (e.g. `bearer`).
    pub scheme: String,
    /// The token68 form of the credentials, if used instead of parameters.
    pub token68: Option<String>,
    /// Parameters in order, names lower-cased.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (lower-case).
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> &str {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        // tchars are ASCII, so the slice is valid UTF-8.
        std::str::from_utf8(&self.b[start..self.i]).unwrap_or_default()
    }

    /// A quoted-string after its opening quote; `None` if unterminated.
    fn quoted(&mut self) -> Option<String> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    out.push(self.peek()?);
                    self.i += 1;
                }
                c => out.push(c),
            }
        }
        None
    }

    /// After a comma: does a parameter (`name =`) follow, rather than a new
    /// challenge? Leaves the cursor where it was.
    fn param_follows(&mut self) -> bool {
        let save = self.i;
        self.skip_ws();
        let named = !self.token().is_empty();
        self.skip_ws();
        let eq = self.peek() == Some(b'=');
        self.i = save;
        named && eq
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges.
#[must_use]
pub fn parse(header: &str) -> Vec<Challenge> {
    let mut c = Cursor {
        b: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        while matches!(c.peek(), Some(b' ' | b'\t' | b',')) {
            c.i += 1;
        }
        if c.peek().is_none() {
            return out;
        }
        let scheme = c.token().to_ascii_lowercase();
        if scheme.is_empty() {
            return out;
        }
        let mut ch = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        c.skip_ws();
        // token68: a run of token68 chars then '='s, then the end or a comma.
        let start = c.i;
        while c.peek().is_some_and(is_token68) {
            c.i += 1;
        }
        let body_end = c.i;
        while c.peek() == Some(b'=') {
            c.i += 1;
        }
        let eqs = c.i - body_end;
        let after = c.i;
        c.skip_ws();
        if body_end > start && matches!(c.peek(), None | Some(b',')) && (eqs != 1 || after == c.i) {
            let t = std::str::from_utf8(&c.b[start..after]).unwrap_or_default();
            ch.token68 = Some(t.to_owned());
            out.push(ch);
            continue;
        }
        c.i = start;
        // auth-params: name BWS "=" BWS ( token / quoted-string ), comma-separated.
        loop {
            c.skip_ws();
            let name = c.token().to_ascii_lowercase();
            if name.is_empty() {
                break;
            }
            c.skip_ws();
            if c.peek() != Some(b'=') {
                out.push(ch);
                return out;
            }
            c.i += 1;
            c.skip_ws();
            let value = if c.peek() == Some(b'"') {
                c.i += 1;
                match c.quoted() {
                    Some(v) => v,
                    None => {
                        out.push(ch);
                        return out;
                    }
                }
            } else {
                c.token().to_owned()
            };
            ch.params.push((name, value));
            c.skip_ws();
            match c.peek() {
                Some(b',') => {
                    c.i += 1;
                    if !c.param_follows() {
                        break;
                    }
                }
                None => break,
                Some(_) => {
                    out.push(ch);
                    return out;
                }
            }
        }
        out.push(ch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ER-16
    #[test]
    fn bearer_with_escapes_any_case() {
        let v = parse(
            r#"BEARER error="invalid_token", error_description="The token was \"tampered\"", Basic realm="x""#,
        );
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].scheme, "bearer");
        assert_eq!(v[0].param("error"), Some("invalid_token"));
        assert_eq!(
            v[0].param("error_description"),
            Some("The token was \"tampered\"")
        );
        assert_eq!(v[1].scheme, "basic");
        assert_eq!(v[1].param("realm"), Some("x"));
        let t = parse("Newauth dXNlcjpwYXNz==, Bearer");
        assert_eq!(t[0].token68.as_deref(), Some("dXNlcjpwYXNz=="));
        assert_eq!(t[1].scheme, "bearer");
    }
}
