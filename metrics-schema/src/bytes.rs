//! Byte counts for people.

/// A number as people read it in a message: plain from 0.0001 up to a million, else `1e308` or
/// `1e-300`, so that no message prints the 309 digits `{}` gives `1e308`.
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if value.is_finite() && value != 0.0 && !(1e-4..1e6).contains(&magnitude) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// A monitor metric's value for people, with the unit its name ends in: `_bytes` in binary
/// units (`648.2 MiB`), `_bytes_per_s` as a decimal rate (`250.9 MB/s`), `_percent` with one
/// decimal and `%`, `_c` in °C, `_w` in W, `_mhz` in MHz; anything else with up to three
/// decimals.
pub fn format_metric_value(name: &str, value: f64) -> String {
    if !value.is_finite() {
        return "n/a".to_owned();
    }
    if name.ends_with("_bytes_per_s") {
        const UNITS: [&str; 5] = ["B/s", "kB/s", "MB/s", "GB/s", "TB/s"];
        let (mut scaled, mut unit) = (value, 0);
        while scaled.abs() >= 1000.0 && unit + 1 < UNITS.len() {
            scaled /= 1000.0;
            unit += 1;
        }
        return if unit == 0 { format!("{scaled:.0} B/s") } else { format!("{scaled:.1} {}", UNITS[unit]) };
    }
    if name.ends_with("_bytes") {
        let sign = if value < 0.0 { "-" } else { "" };
        return format!("{sign}{}", format_bytes(value.abs().round() as u64));
    }
    if name.ends_with("_percent") {
        return format!("{value:.1}%");
    }
    if name.ends_with("_c") {
        return format!("{value:.0} °C");
    }
    if name.ends_with("_w") {
        return format!("{value:.1} W");
    }
    if name.ends_with("_mhz") {
        return format!("{value:.0} MHz");
    }
    format!("{}", (value * 1000.0).round() / 1000.0)
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
    fn numbers_in_messages_stay_short() {
        assert_eq!(format_number(1e308), "1e308");
        assert_eq!(format_number(-1.5e308), "-1.5e308");
        assert_eq!(format_number(1e-300), "1e-300");
        assert_eq!(format_number(3600.0), "3600");
        assert_eq!(format_number(-1.0), "-1");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(f64::NAN), "NaN");
        assert_eq!(format_number(f64::INFINITY), "inf");
        assert_eq!(format_number(1_234_567.0), "1.234567e6");
    }

    #[test]
    fn binary_units_with_one_decimal() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(137_438_953_472), "128.0 GiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
    }
}

#[cfg(test)]
mod metric_value_tests {
    use super::format_metric_value;

    #[test]
    fn units_follow_the_name() {
        assert_eq!(format_metric_value("host.memory_used_bytes", 679_659_158.588), "648.2 MiB");
        assert_eq!(format_metric_value("disk.nvme0n1.read_bytes_per_s", 250_855_305.795), "250.9 MB/s");
        assert_eq!(format_metric_value("net.eth0.rx_bytes_per_s", 512.0), "512 B/s");
        assert_eq!(format_metric_value("host.cpu_percent", 12.345), "12.3%");
        assert_eq!(format_metric_value("gpu.0.temperature_c", 61.4), "61 °C");
        assert_eq!(format_metric_value("gpu.0.power_w", 301.25), "301.2 W");
        assert_eq!(format_metric_value("gpu.0.sm_clock_mhz", 1980.0), "1980 MHz");
        assert_eq!(format_metric_value("host.swap_growth_bytes_per_s", -2_000_000.0), "-2.0 MB/s");
        assert_eq!(format_metric_value("anything", 0.12345), "0.123");
        assert_eq!(format_metric_value("host.cpu_percent", f64::NAN), "n/a");
    }
}
