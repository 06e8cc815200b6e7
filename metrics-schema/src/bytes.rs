//! Byte counts for people.

/// A number as people read it in a message: plain up to a million, then `1e308`.
pub fn format_number(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e6 { format!("{value:e}") } else { format!("{value}") }
}

/// Bytes in binary units with one decimal (`125.8 GiB`).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_units_with_one_decimal() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(137_438_953_472), "128.0 GiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
    }
}
