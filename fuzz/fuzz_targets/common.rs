//! Shared by the targets: an HTTP response from fuzz bytes.

use tokenkeeper::core::response::HttpResponse;

/// Reads `[status hi, status lo, content-type selector, retry-after
/// selector, body…]`: statuses cover 0–65535, the headers the variants the
/// parser distinguishes, the body is the rest.
pub fn response(data: &[u8]) -> Option<HttpResponse> {
    let (head, body) = data.split_at_checked(4)?;
    let status = u16::from_be_bytes([head[0], head[1]]);
    let content_type = match head[2] % 6 {
        0 => None,
        1 => Some("application/json"),
        2 => Some("Application/JSON; charset=utf-8"),
        3 => Some("text/html"),
        4 => Some("text/plain"),
        _ => Some("application/problem+json"),
    };
    let retry_after = match head[3] % 4 {
        0 => None,
        1 => Some("120"),
        2 => Some("Wed, 21 Oct 2015 07:28:00 GMT"),
        _ => Some("soon"),
    };
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("content-type".to_owned(), ct.to_owned()));
    }
    if let Some(ra) = retry_after {
        headers.push(("retry-after".to_owned(), ra.to_owned()));
    }
    Some(HttpResponse {
        status,
        headers,
        body: body.to_vec(),
    })
}
