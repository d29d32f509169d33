//! Small helpers with no better home: ids, clocks, timestamps, URL decoding.

use rand_core::{OsRng, RngCore};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// A random (version 4) UUID in its lower-case hyphenated form.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A random secret made of URL-safe characters.
pub fn secret(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";
    let mut b = vec![0u8; len];
    OsRng.fill_bytes(&mut b);
    b.iter()
        .map(|x| CHARS[*x as usize % CHARS.len()] as char)
        .collect()
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// ISO-8601 / RFC 3339 UTC timestamp of the current instant, with 7 fractional digits as ARM writes.
pub fn now_iso() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    iso(d.as_secs(), d.subsec_nanos())
}

/// Formats epoch seconds + nanos as `YYYY-MM-DDTHH:MM:SS.fffffffZ`.
pub fn iso(secs: u64, nanos: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:07}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        nanos / 100
    )
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
pub fn form_decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Parses `a=b&c=d` (query strings and form bodies). Later keys win.
pub fn parse_form(s: &str) -> BTreeMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(p), String::new()),
        })
        .collect()
}

/// Percent-encodes a value for a query string.
pub fn query_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_formats_known_instant() {
        assert_eq!(iso(1_700_000_000, 0), "2023-11-14T22:13:20.0000000Z");
    }

    #[test]
    fn uuid_has_version_four_shape() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}

/// A second octet for this emulator's loopback addresses: 1..=254 at random (127.0.0.0/16
/// holds the machine's own 127.0.0.1 and is left alone).
pub fn loopback_block() -> u8 {
    1 + (OsRng.next_u32() % 254) as u8
}
