//! The report envelope and the `Report` trait.

use std::path::Path;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{Error, GitInfo, HostInfo, ReportKind, SchemaId, TOOL_VERSION, Timestamp, ToMetrics};

/// A report payload: what it is, which layout version it has, and how it flattens to metrics.
pub trait Report: Serialize + DeserializeOwned + ToMetrics {
    /// The kind written into the schema id.
    const KIND: ReportKind;
    /// The current major version of this payload's layout. Bump it only for changes that old
    /// readers would misread; adding fields is not one of them.
    const MAJOR: u32;

    /// The schema id this version writes.
    fn schema_id() -> SchemaId {
        SchemaId { kind: Self::KIND, major: Self::MAJOR }
    }
}

/// The top-level object of every JSON report: the common header with the payload's fields
/// flattened beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// `ocrperf.<kind>.v<major>`.
    pub schema: SchemaId,
    /// The ocrperf version that wrote the report.
    pub tool_version: String,
    /// When the report was made, RFC 3339 in UTC.
    pub created_at: Timestamp,
    /// The machine the report describes.
    pub host: HostInfo,
    /// The git commit of the working directory, when it is inside a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// The report's own fields, written at the top level (no `payload` key).
    #[serde(flatten)]
    pub report: T,
}

impl<T: Report> Envelope<T> {
    /// Wraps `report` with the current time and the given host and git facts.
    pub fn new(report: T, host: HostInfo, git: Option<GitInfo>) -> Self {
        Envelope {
            schema: T::schema_id(),
            tool_version: TOOL_VERSION.to_owned(),
            created_at: Timestamp::now(),
            host,
            git,
            report,
        }
    }

    /// Wraps `report` with facts about this machine and the current directory's git commit.
    pub fn for_this_machine(report: T) -> Self {
        let git = std::env::current_dir().ok().and_then(|dir| GitInfo::detect(&dir));
        Envelope::new(report, HostInfo::detect(), git)
    }

    /// Parses a report, checking its schema id before anything else.
    ///
    /// # Errors
    /// [`Error::Json`] for broken JSON, [`Error::MissingSchema`], [`Error::InvalidSchemaId`],
    /// [`Error::UnknownKind`], [`Error::WrongKind`] or [`Error::NewerMajor`] for the wrong
    /// schema, and [`Error::Json`] again when a field has the wrong shape.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let found = peek_schema(text)?;
        if found.kind != T::KIND {
            return Err(Error::WrongKind { expected: T::KIND.as_str(), found: found.kind.as_str() });
        }
        if found.major > T::MAJOR {
            return Err(Error::NewerMajor { found: found.to_string(), supported: T::MAJOR });
        }
        serde_json::from_str(text).map_err(|err| Error::json(&err))
    }

    /// Reads a report file (gzip and a BOM are recognised, `-` is standard input, at most
    /// [`MAX_TEXT_FILE`](crate::text::MAX_TEXT_FILE) bytes); errors name the file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file can't be read, [`Error::InFile`] around text that is too
    /// large or not UTF-8 (with its line) and around any error of [`Envelope::from_json`].
    pub fn read(path: &Path) -> Result<Self, Error> {
        let in_file = |cause: Error| Error::InFile { path: path.to_owned(), cause: Box::new(cause) };
        let text = crate::text::read_text(path, crate::text::MAX_TEXT_FILE).map_err(|err| match err {
            crate::text::TextError::Io(cause) => Error::Io { path: path.to_owned(), cause },
            other => in_file(Error::Text(other)),
        })?;
        Self::from_json(&text).map_err(in_file)
    }
}

/// Reads only the `schema` field of a report, so a caller can dispatch on the kind.
///
/// # Errors
/// [`Error::Json`], [`Error::MissingSchema`], [`Error::InvalidSchemaId`] or
/// [`Error::UnknownKind`].
pub fn peek_schema(text: &str) -> Result<SchemaId, Error> {
    #[derive(Deserialize)]
    struct Header {
        schema: Option<serde_json::Value>,
    }
    let header: Header = serde_json::from_str(text).map_err(|err| Error::json(&err))?;
    match header.schema {
        Some(serde_json::Value::String(id)) => id.parse(),
        Some(other) => Err(Error::InvalidSchemaId(other.to_string())),
        None => Err(Error::MissingSchema),
    }
}

#[cfg(test)]
#[expect(clippy::disallowed_methods, reason = "tests write their fixtures directly")]
mod tests {
    use super::*;
    use crate::{HostInfoReport, PhaseReport, PhaseStep, StepStatus};

    fn sample_host() -> HostInfo {
        HostInfo {
            hostname: "trainer-01".into(),
            os: "Debian GNU/Linux 12".into(),
            kernel: Some("6.1.0".into()),
            arch: "x86_64".into(),
            cpu_model: "AMD EPYC 9654".into(),
            logical_cores: 16,
            physical_cores: Some(8),
            total_memory_bytes: 128 << 30,
            gpus: vec![crate::GpuInfo {
                index: 0,
                name: "NVIDIA H100 80GB HBM3".into(),
                memory_total_bytes: Some(80 << 30),
                uuid: Some("GPU-0000".into()),
                pci_bus_id: Some("0000:65:00.0".into()),
                driver_version: Some("570.86.15".into()),
            }],
        }
    }

    fn sample_envelope() -> Envelope<PhaseReport> {
        let report = PhaseReport {
            phase: "phase2".into(),
            passed: false,
            steps: vec![PhaseStep {
                name: "targets".into(),
                crate_name: "polygon-cache".into(),
                status: StepStatus::Missing,
                key_figure: None,
                detail: Some("crate `polygon-cache` is not in the workspace yet".into()),
                seconds: 0.0,
            }],
        };
        let mut envelope =
            Envelope::new(report, sample_host(), Some(GitInfo { commit: "0123abcd".repeat(5), dirty: true }));
        envelope.created_at = "2026-11-23T15:33:26.123Z".parse().unwrap();
        envelope
    }

    #[test]
    fn payload_fields_sit_beside_the_header() {
        let value = serde_json::to_value(sample_envelope()).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object["schema"], "ocrperf.phase.v1");
        assert_eq!(object["phase"], "phase2");
        assert!(!object.contains_key("payload") && !object.contains_key("report"));
        insta::assert_json_snapshot!("phase_envelope", value);
    }

    #[test]
    fn round_trips_and_accepts_unknown_fields() {
        let envelope = sample_envelope();
        let mut value = serde_json::to_value(&envelope).unwrap();
        value["added_in_a_later_version"] = serde_json::json!({"x": 1});
        let back = Envelope::<PhaseReport>::from_json(&value.to_string()).unwrap();
        assert_eq!(back, envelope);
    }

    #[test]
    fn older_majors_are_read() {
        let mut value = serde_json::to_value(sample_envelope()).unwrap();
        value["schema"] = "ocrperf.phase.v0".into();
        let back = Envelope::<PhaseReport>::from_json(&value.to_string()).unwrap();
        assert_eq!(back.schema.major, 0);
    }

    #[test]
    fn schema_errors_are_specific() {
        let with_schema = |schema: serde_json::Value| {
            let mut value = serde_json::to_value(sample_envelope()).unwrap();
            value["schema"] = schema;
            Envelope::<PhaseReport>::from_json(&value.to_string()).unwrap_err().to_string()
        };
        assert_eq!(
            with_schema("ocrperf.phase.v2".into()),
            "schema `ocrperf.phase.v2` is newer than this ocrperf understands (up to v1); upgrade ocrperf"
        );
        assert_eq!(with_schema("ocrperf.host-info.v1".into()), "this is a `host-info` report, expected `phase`");
        assert!(with_schema("ocrperf.nope.v1".into()).starts_with("unknown report kind `nope`"));
        assert_eq!(with_schema(7.into()), "`7` is not an ocrperf schema id (expected ocrperf.<kind>.v<major>)");
        let missing = Envelope::<HostInfoReport>::from_json(r#"{"tool_version":"1"}"#).unwrap_err();
        assert_eq!(missing.to_string(), "no \"schema\" field: this is not an ocrperf report");
    }

    #[test]
    fn json_errors_give_the_position() {
        let err = Envelope::<PhaseReport>::from_json("{\n  \"schema\": \"ocrperf.phase.v1\",\n  oops").unwrap_err();
        assert!(matches!(err, Error::Json { line: 3, column: 3, .. }), "{err:?}");
        let err = Envelope::<PhaseReport>::from_json(r#"{"schema":"ocrperf.phase.v1"}"#).unwrap_err();
        assert_eq!(err.to_string(), "invalid report JSON at line 1, column 29: missing field `tool_version`");
    }

    #[test]
    fn read_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, "[1, 2").unwrap();
        let err = Envelope::<PhaseReport>::read(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}: invalid report JSON at line 1", path.display())), "{err}");
        let missing = Envelope::<PhaseReport>::read(&dir.path().join("absent.json")).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }));
    }

    #[test]
    fn read_takes_gzip_and_a_bom_and_names_the_line_of_bad_text() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let json = serde_json::to_string_pretty(&sample_envelope()).unwrap();
        let bom = dir.path().join("bom.json");
        std::fs::write(&bom, format!("\u{feff}{json}")).unwrap();
        assert_eq!(Envelope::<PhaseReport>::read(&bom).unwrap(), sample_envelope());
        let gz = dir.path().join("report.json.gz");
        let mut encoder =
            flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
        encoder.write_all(json.as_bytes()).unwrap();
        encoder.finish().unwrap();
        assert_eq!(Envelope::<PhaseReport>::read(&gz).unwrap(), sample_envelope());
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{\n\"schema\": \"ocrperf.phase.v1\",\n\"phase\": \"\xff\"\n}").unwrap();
        let err = Envelope::<PhaseReport>::read(&bad).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: line 3: not UTF-8 text (an invalid byte at column 11); is this the right file?",
                bad.display()
            )
        );
    }
}
