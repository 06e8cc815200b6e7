//! `/metrics` in Prometheus text exposition format 0.0.4, served from a small thread.
//!
//! Each sample re-renders the page; requests get the latest one. Only `GET /metrics` answers
//! 200; other paths are 404 and other methods 405. One request per connection, with a read
//! timeout, so a stuck client cannot hold the thread.

use std::{
    fmt::Write as _,
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::Error;

/// The running exporter.
#[derive(Debug)]
pub struct Exporter {
    page: Arc<Mutex<String>>,
    address: SocketAddr,
}

/// `9400` and `:9400` mean `127.0.0.1:9400`: exposing the gauges beyond this machine is a
/// choice the user makes by naming an address (`0.0.0.0:9400`).
pub fn listen_address(address: &str) -> String {
    let port = address.strip_prefix(':').unwrap_or(address);
    if port.parse::<u16>().is_ok() { format!("127.0.0.1:{port}") } else { address.to_owned() }
}

impl Exporter {
    /// Binds `address`: `HOST:PORT`, or a bare port (`9400`, `:9400`), which means loopback
    /// ([`listen_address`]).
    pub fn start(address: &str) -> Result<Exporter, Error> {
        let address = &listen_address(address);
        let listener =
            TcpListener::bind(address).map_err(|cause| Error::Bind { address: address.to_owned(), cause })?;
        let address = listener.local_addr().map_err(|cause| Error::Bind { address: address.to_owned(), cause })?;
        let page = Arc::new(Mutex::new(String::new()));
        let shared = Arc::clone(&page);
        std::thread::Builder::new()
            .name("ocrperf-prometheus".to_owned())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let _ = serve(stream, &shared);
                }
            })
            .map_err(|cause| Error::Bind { address: address.to_string(), cause })?;
        Ok(Exporter { page, address })
    }

    /// Where it listens (the port is known after binding `:0`).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Replaces the page.
    pub fn publish(&self, page: String) {
        if let Ok(mut current) = self.page.lock() {
            *current = page;
        }
    }
}

fn serve(stream: TcpStream, page: &Mutex<String>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(&stream);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // Drain the headers; the request has no body we care about.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut parts = request.split_ascii_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, content_type, body) = match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/metrics") => {
            ("200 OK", "text/plain; version=0.0.4; charset=utf-8", page.lock().map(|p| p.clone()).unwrap_or_default())
        }
        ("GET", _) => ("404 Not Found", "text/plain; charset=utf-8", "not found: try /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET\n".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// Renders metrics and active alerts as exposition text: `gpu.0.utilization_percent` becomes
/// `ocrperf_gpu_utilization_percent{gpu="0"}`, `disk.sda.busy_percent` becomes
/// `ocrperf_disk_busy_percent{disk="sda"}`.
pub fn render(metrics: &[(String, f64)], alerts: &[(String, String)]) -> String {
    let mut families: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for (name, value) in metrics {
        let (family, labels) = family_of(name);
        match families.iter_mut().find(|(f, _)| *f == family) {
            Some((_, series)) => series.push((labels, *value)),
            None => families.push((family, vec![(labels, *value)])),
        }
    }
    let mut out = String::new();
    for (family, series) in &families {
        let _ = writeln!(out, "# TYPE {family} gauge");
        for (labels, value) in series {
            let _ = writeln!(out, "{family}{labels} {}", number(*value));
        }
    }
    let _ = writeln!(out, "# HELP ocrperf_alert_active 1 while an alert rule fires for a metric.");
    let _ = writeln!(out, "# TYPE ocrperf_alert_active gauge");
    for (rule, metric) in alerts {
        let _ = writeln!(out, "ocrperf_alert_active{{rule=\"{}\",metric=\"{}\"}} 1", escape(rule), escape(metric));
    }
    let _ = writeln!(out, "# TYPE ocrperf_alerts_active gauge");
    let _ = writeln!(out, "ocrperf_alerts_active {}", alerts.len());
    out
}

fn family_of(name: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('.').collect();
    let label = match parts.first() {
        Some(&"gpu") => Some("gpu"),
        Some(&"disk") => Some("disk"),
        Some(&"net") => Some("interface"),
        _ => None,
    };
    match (label, parts.as_slice()) {
        (Some(label), [scope, instance, rest @ ..]) if !rest.is_empty() => {
            (sanitize(&format!("ocrperf_{scope}_{}", rest.join("_"))), format!("{{{label}=\"{}\"}}", escape(instance)))
        }
        _ => (sanitize(&format!("ocrperf_{}", parts.join("_"))), String::new()),
    }
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".to_owned() } else { "-Inf".to_owned() }
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn a_bare_port_means_loopback() {
        assert_eq!(listen_address("9400"), "127.0.0.1:9400");
        assert_eq!(listen_address(":9400"), "127.0.0.1:9400");
        assert_eq!(listen_address("0.0.0.0:9400"), "0.0.0.0:9400");
        assert_eq!(listen_address("[::1]:9400"), "[::1]:9400");
        assert_eq!(listen_address("host.example:9400"), "host.example:9400");
    }

    #[test]
    fn renders_families_with_labels() {
        let metrics = vec![
            ("host.cpu_percent".to_owned(), 12.5),
            ("gpu.0.utilization_percent".to_owned(), 97.0),
            ("gpu.1.utilization_percent".to_owned(), 3.0),
            ("disk.nvme0n1.busy_percent".to_owned(), 40.0),
            ("net.eth0.rx_bytes_per_s".to_owned(), 1e6),
        ];
        let page = render(&metrics, &[("gpu-input-bound".to_owned(), "gpu.1.utilization_percent".to_owned())]);
        insta::assert_snapshot!(page);
    }

    #[test]
    fn serves_metrics_404_and_405() {
        let exporter = Exporter::start("127.0.0.1:0").unwrap();
        exporter.publish(render(&[("host.cpu_percent".to_owned(), 5.0)], &[]));
        let ask = |request: &str| {
            let mut stream = TcpStream::connect(exporter.address()).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).unwrap();
            response
        };
        let ok = ask("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(ok.contains("\nocrperf_host_cpu_percent 5\n"), "{ok}");
        assert!(ask("GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(ask("POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(matches!(Exporter::start(&exporter.address().to_string()), Err(Error::Bind { .. })));
    }
}
