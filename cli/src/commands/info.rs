//! `ocrperf info`: the description of this machine that every report carries as `host`.

use clap::Args;
use metrics_schema::{Envelope, HostInfo, HostInfoReport};

use crate::{
    Outcome,
    output::{Document, Ui, format_bytes},
};

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {}

pub(crate) fn run(_args: &InfoArgs, ui: &Ui) -> anyhow::Result<Outcome> {
    let envelope = Envelope::for_this_machine(HostInfoReport {});
    ui.emit(&envelope, &document(&envelope))?;
    Ok(Outcome::Success)
}

fn document(envelope: &Envelope<HostInfoReport>) -> Document {
    let host: &HostInfo = &envelope.host;
    let optional = |value: Option<String>| value.unwrap_or_else(|| "unknown".to_owned());
    let mut fields = vec![
        ("hostname".to_owned(), host.hostname.clone()),
        ("os".to_owned(), host.os.clone()),
        ("kernel".to_owned(), optional(host.kernel.clone())),
        ("arch".to_owned(), host.arch.clone()),
        ("cpu".to_owned(), host.cpu_model.clone()),
        ("logical cores".to_owned(), host.logical_cores.to_string()),
        ("physical cores".to_owned(), optional(host.physical_cores.map(|n| n.to_string()))),
        ("memory".to_owned(), format_bytes(host.total_memory_bytes)),
        ("gpus".to_owned(), if host.gpus.is_empty() { "none found".to_owned() } else { host.gpus.len().to_string() }),
    ];
    if let Some(git) = &envelope.git {
        let dirty = if git.dirty { " (uncommitted changes)" } else { "" };
        fields.push(("git commit".to_owned(), format!("{}{dirty}", git.commit)));
    }
    fields.push(("ocrperf".to_owned(), envelope.tool_version.clone()));
    let mut doc = Document::new("Host");
    doc.fields(None, fields);
    if !host.gpus.is_empty() {
        let rows = host
            .gpus
            .iter()
            .map(|gpu| {
                vec![
                    gpu.index.to_string(),
                    gpu.name.clone(),
                    gpu.memory_total_bytes.map_or_else(|| "unknown".to_owned(), format_bytes),
                    optional(gpu.pci_bus_id.clone()),
                    optional(gpu.driver_version.clone()),
                ]
            })
            .collect();
        doc.table(Some("GPUs"), &["index", "name", "memory", "bus", "driver"], rows);
    }
    doc
}
